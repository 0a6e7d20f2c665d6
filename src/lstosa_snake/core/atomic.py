"""Atomic writes of the small files we make ourselves (reports, manifests, web pages, plots).

A reader (a shifter's browser, the publisher, the next workflow step) sees either the old file or
the complete new one, never a half-written one: the content goes to a temporary file in the same
directory, is flushed to disk, made world-readable and renamed over the final name. On any error
the temporary file is removed and the error propagates. (The tools' products go through
``lstosa_snake.jobs.runner``, which stages and renames them in the same spirit.)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

MODE = 0o644  # mkstemp makes 0600 files: published pages and reports must be readable


def write_with(path: Path, write: Callable[[str], None]) -> Path:
    """Atomically create ``path`` by calling ``write(temporary_path)``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    return write_with(path, lambda tmp: Path(tmp).write_bytes(data))


def write_text(path: Path, text: str) -> Path:
    return write_with(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json(path: Path, data, indent: int = 1) -> Path:
    return write_text(path, json.dumps(data, indent=indent, default=str) + "\n")


def copy_file(src: Path, dst: Path) -> Path:
    return write_with(dst, lambda tmp: shutil.copyfile(src, tmp))
