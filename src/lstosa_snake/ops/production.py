"""A production's records in the night's work area: the night's lock and ``production.json``.

``NightLock``: one invocation per night and production at a time (``lstosa-nightly``,
``lstosa-reprocess``, ``lstosa-follow``). ``production.json``: what made this production (kind,
settings that change the products), written once, so that a reprocessing never writes into
another production's directories.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import socket
from pathlib import Path

from lstosa_snake.core.atomic import write_text as atomic_write_text
from lstosa_snake.night.plan import resolve

MANIFEST = "production.json"


class NightLock:
    """An exclusive, non-blocking flock; holder's PID and start time written into the file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.fh = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(),
            "since": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        }) + "\n")
        fh.flush()
        self.fh = fh
        return True

    def holder(self) -> dict:
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def release(self) -> None:
        if self.fh is not None:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None


def production_identity(config: dict, base: Path) -> dict:
    """What makes a production: settings that change the products, and the lstchain config's hash."""
    def digest(key):
        try:
            return hashlib.sha256(resolve(config[key], base).read_bytes()).hexdigest()[:16]
        except (OSError, KeyError):
            return None

    return {
        "prod_id": str(config["prod_id"]),
        "calibration_version": str(config.get("calibration_version")),
        "calibration_policy": str(config.get("calibration_policy")),
        "lstchain_config_sha256": digest("lstchain_config"),
        "models_dir": str(resolve(config.get("models_dir", ""), base)),
        # the switches that change the products' content (issue 12's lookups, issue 14's DL1b)
        **{k: str(config.get(k)) for k in ("time_calibration", "ffactor_systematics", "dl1ab",
                                            "apply_standard_dl1b_config", "apply_catB_calibration")},
    }


def read_manifest(running_dir: Path) -> dict | None:
    try:
        return json.loads((Path(running_dir) / MANIFEST).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def write_manifest(running_dir: Path, config: dict, base: Path, kind: str) -> None:
    if read_manifest(running_dir) is None:
        data = {"kind": kind, "identity": production_identity(config, base),
                "created": dt.datetime.now().astimezone().isoformat(timespec="seconds")}
        atomic_write_text(Path(running_dir) / MANIFEST, json.dumps(data, indent=1) + "\n")
