"""Per-job provenance records: what the runner writes after a job's products are in place (tool, version,
command, inputs with sizes and digests, outputs, times, host). Only the standard library: the runner
imports this module for every job."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import socket
import subprocess
from pathlib import Path

from lstosa_snake.core import atomic

RECORD_SCHEMA = "lstosa-snake/job-record/1"
#: files up to this size are hashed (configuration files always): hashing a multi-GB DL1 file per job
#: would cost more than the job's own reading
HASH_LIMIT = 16 * 1024 * 1024
CONFIG_SUFFIXES = {".json", ".yaml", ".yml", ".toml", ".cfg", ".ini"}
#: distributions whose versions every record lists (when installed in the tool's environment)
VERSIONED = ("lstchain", "ctapipe", "ctapipe_io_lst", "lstosa_snake", "numpy", "astropy", "scikit_learn", "tables")
#: a directory named on a command line (models, R0 root) is recorded with at most this many of its files
DIR_LISTING_LIMIT = 200
_DATE_DIR = re.compile(r"^(19|20)\d{6}$")
_RAW_STREAM = re.compile(r"^LST-1\.1\.(Run\d{5}\.\d{4}\.fits\.fz)$")


# --------------------------------------------------------------------------- per-job records


def records_dir(staging_root: Path) -> Path:
    """Where the runner of ``staging_root`` (``<running dir>/staging``) writes its job records."""
    return Path(staging_root).parent / "provenance" / "jobs"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_info(path: Path, role: str = "input") -> dict:
    """{path, role, size[, sha256]} of a file, or {path, role, kind: directory, files} of a directory."""
    p = Path(path)
    info = {"path": str(p.absolute()), "role": role}
    if p.is_dir():
        entries = sorted(p.iterdir())[:DIR_LISTING_LIMIT]
        info["kind"] = "directory"
        info["files"] = [{"name": e.name, "size": e.stat().st_size} for e in entries if e.is_file()]
        return info
    st = p.stat()
    info["size"] = st.st_size
    if role == "config" or st.st_size <= HASH_LIMIT:
        info["sha256"] = sha256(p)
    return info


def _role(path: Path) -> str:
    return "config" if path.suffix.lower() in CONFIG_SUFFIXES else "input"


def raw_stream_siblings(path: Path) -> list[Path]:
    """The other three stream files of a raw sub-run named by its stream 1 (the tools read all four)."""
    m = _RAW_STREAM.match(Path(path).name)
    if not m:
        return []
    return [p for s in (2, 3, 4) if (p := Path(path).with_name(f"LST-1.{s}.{m.group(1)}")).is_file()]


def command_inputs(args: list[str], staging: Path, stage_inputs=(), extra=()) -> list[dict]:
    """Every existing file or directory named on the command line (also as ``--opt=value``), the staged
    inputs and ``extra`` files, deduplicated; paths inside the staging directory are the job's own."""
    staging = Path(staging).absolute()
    seen: dict[str, dict] = {}

    def add(p: Path, role: str | None = None):
        p = Path(p).absolute()
        if staging == p or staging in p.parents or str(p) in seen or not p.exists():
            return
        seen[str(p)] = file_info(p, role or _role(p))
        for sib in raw_stream_siblings(p):
            add(sib, "input")

    for arg in args[1:]:
        for cand in (arg, arg.split("=", 1)[1] if arg.startswith("-") and "=" in arg else None):
            if cand and not cand.startswith("-") and os.sep in cand:
                try:
                    add(Path(cand))
                except OSError:
                    continue
    for p in list(stage_inputs) + list(extra):
        add(Path(p).resolve())
    return list(seen.values())


def _dist_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def environment_versions(tool: str) -> tuple[dict, dict]:
    """({distribution: version} of VERSIONED, {console script: distribution}) of the environment the
    tool lives in (``<env>/bin/<tool>``), read from its ``*.dist-info`` directories without importing."""
    env = Path(tool).absolute().parent.parent  # not resolved: bin/python is a link out of the venv
    versions, scripts = {}, {}
    for site in env.glob("lib/python*/site-packages"):
        for info in site.glob("*.dist-info"):
            name, _, version = info.name[: -len(".dist-info")].partition("-")
            dist = _dist_name(name)
            if dist not in VERSIONED:
                continue
            versions[dist] = version
            try:
                text = (info / "entry_points.txt").read_text()
            except OSError:
                continue
            section = ""
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("["):
                    section = line
                elif section == "[console_scripts]" and "=" in line:
                    scripts[line.split("=", 1)[0].strip()] = dist
    return versions, scripts


def tool_identity(args: list[str]) -> dict:
    """{tool, distribution, version, versions, python}: which program ran and which release it is."""
    exe = args[0]
    name = Path(exe).name
    versions, scripts = environment_versions(exe) if os.sep in exe else ({}, {})
    tool, dist = name, scripts.get(name)
    if name.startswith("python") and len(args) > 2 and args[1] == "-m":  # python -m package.module
        tool = args[2]
        dist = _dist_name(args[2].split(".")[0])
    ident = {"tool": tool, "distribution": dist, "version": versions.get(dist) if dist else None,
             "versions": versions}
    cfg = Path(exe).absolute().parent.parent / "pyvenv.cfg"
    try:
        for line in cfg.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() in ("version", "version_info"):
                ident["python"] = value.strip()
    except OSError:
        pass
    return ident


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="seconds")


def job_record(label: str, slug: str, args: list[str], inputs: list[dict], outputs: list[Path],
               start: float, end: float, log_path: Path | None = None) -> dict:
    return {
        "schema": RECORD_SCHEMA,
        "label": label,
        "job": slug,
        **tool_identity(args),
        "command": list(args),
        "command_line": subprocess.list2cmdline(args),
        "inputs": inputs,
        "outputs": [file_info(Path(p), "output") for p in outputs],
        "start": _iso(start),
        "end": _iso(end),
        "wall_s": round(end - start, 2),
        "host": socket.gethostname(),
        "user": os.environ.get("USER") or os.environ.get("LOGNAME") or str(os.getuid()),
        "log": str(Path(log_path).absolute()) if log_path else None,
    }


def write_job_record(staging_root: Path, slug: str, record: dict) -> Path:
    return atomic.write_json(records_dir(staging_root) / f"{slug}.json", record)
