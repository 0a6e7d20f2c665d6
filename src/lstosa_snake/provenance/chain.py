"""From a product back to the raw files: the job records indexed by their outputs, the chain of jobs that
made a product, and ``lstosa-status --provenance FILE`` (:func:`explain`), which prints it as text."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .records import _DATE_DIR, RECORD_SCHEMA, file_info


def output_root_of(path: Path) -> Path | None:
    """The LST tree a product lives in: the parent of its DL1/DL2/monitoring/running_analysis level."""
    p = Path(path).absolute()
    for parent in p.parents:
        if parent.name in ("DL1", "DL2", "monitoring", "running_analysis", "R0", "datacheck_web"):
            return parent.parent
    return None


def dates_in(path: Path) -> list[str]:
    return [part for part in Path(path).parts if _DATE_DIR.match(part)]


class RecordIndex:
    """Job records by the (absolute) paths of their outputs, read lazily per night.

    Records live in ``running_analysis/<date>/<prod_id>/provenance/jobs`` and
    ``running_analysis/<date>/calibration/<version>/provenance/jobs``; a product's night is the
    YYYYMMDD level of its path, so an earlier night's calibration (borrowed) is found as well."""

    def __init__(self, dirs=()):
        self.by_output: dict[str, dict] = {}
        self._read_dirs: set[str] = set()
        self._read_nights: set[tuple[str, str]] = set()
        for d in dirs:
            self.add_dir(Path(d))

    def add_dir(self, d: Path) -> None:
        if str(d) in self._read_dirs:
            return
        self._read_dirs.add(str(d))
        for f in sorted(Path(d).glob("*.json")):
            try:
                rec = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            if rec.get("schema") != RECORD_SCHEMA:
                continue
            for out in rec.get("outputs", []):
                # also by the real path: a consumer may name the file through a link (DL1/.../dl1b/)
                for key in {out["path"], os.path.realpath(out["path"])}:
                    old = self.by_output.get(key)
                    if old is None or old.get("end", "") <= rec.get("end", ""):  # the latest job made it
                        self.by_output[key] = rec

    def add_night_of(self, path: Path) -> None:
        root = output_root_of(path)
        if root is None:
            return
        for date in dates_in(path):
            if (str(root), date) in self._read_nights:
                continue
            self._read_nights.add((str(root), date))
            for d in (root / "running_analysis" / date).glob("**/provenance/jobs"):
                self.add_dir(d)

    def producer(self, path: Path) -> dict | None:
        key = str(Path(path).absolute())
        if key not in self.by_output:
            self.add_night_of(Path(key))
        return self.by_output.get(key) or self.by_output.get(os.path.realpath(key))


def chain(products, index: RecordIndex) -> tuple[list[dict], dict[str, dict]]:
    """(records, {path: file info}) of every job that led to ``products``, products first."""
    records: dict[str, dict] = {}
    files: dict[str, dict] = {}
    todo = [(str(Path(p).absolute()), None) for p in products]
    while todo:
        path, info = todo.pop(0)
        if path in files:
            continue
        rec = index.producer(Path(path))
        if rec is not None:
            info = next((o for o in rec["outputs"] if _same_file(o["path"], path)), info)
        files[path] = info or _current_info(path)
        if rec is None or rec["job"] in records:
            continue
        records[rec["job"]] = rec
        todo += [(i["path"], i) for i in rec.get("inputs", [])]
    return list(records.values()), files


def _is_raw(path: str) -> bool:
    """A raw data file: below the LST tree's R0 level."""
    return "R0" in Path(path).parts[:-1]


def _same_file(a: str, b: str) -> bool:
    return a == b or os.path.realpath(a) == os.path.realpath(b)


def _current_info(path: str) -> dict:
    try:
        return file_info(Path(path), "output")
    except OSError:
        return {"path": path, "role": "output", "missing": True}


def explain(path: Path, index: RecordIndex | None = None, out=None) -> int:
    """Print how ``path`` was made: its job, tool, command and inputs, recursively back to files no
    job made (raw data, configuration). Returns 0, or 1 when no record names the file."""
    out = out or sys.stdout
    index = index or RecordIndex()
    target = Path(path).absolute()
    if index.producer(target) is None:
        print(f"no provenance record names {target} as an output (records are in "
              "running_analysis/<date>/.../provenance/jobs, written by the workflow's runner)", file=out)
        return 1
    shown: set[str] = set()

    def describe(p: str, info: dict | None, depth: int):
        pad = "  " * depth
        rec = index.producer(Path(p))
        if rec is not None and info is None:
            info = next((o for o in rec["outputs"] if _same_file(o["path"], p)), None)
        size = f", {info['size']} bytes" if info and "size" in info else ""
        sha = f", sha256 {info['sha256'][:16]}…" if info and info.get("sha256") else ""
        if rec is None:
            kind = (info or {}).get("role", "input")
            kind = "directory" if (info or {}).get("kind") == "directory" else kind
            kind = "raw" if kind == "input" and _is_raw(p) else kind
            print(f"{pad}{p}  [{kind}{size}{sha}]", file=out)
            return
        print(f"{pad}{p}  [{size.lstrip(', ') or 'product'}{sha}]", file=out)
        if rec["job"] in shown:
            print(f"{pad}  made by {rec['label']} (see above)", file=out)
            return
        shown.add(rec["job"])
        version = f" {rec['distribution']} {rec['version']}" if rec.get("version") else ""
        print(f"{pad}  made by {rec['label']}: {rec.get('tool')}{version} on {rec['host']}, "
              f"{rec['start']} .. {rec['end']}", file=out)
        print(f"{pad}  command: {rec['command_line']}", file=out)
        for i in rec.get("inputs", []):
            describe(i["path"], i, depth + 2)

    describe(str(target), None, 0)
    return 0
