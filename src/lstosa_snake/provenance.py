"""Provenance of the night's products: how every file was made, back to the raw files.

Two stages (docs/provenance.md):

1. **Per job** (:func:`write_job_record`, called by :mod:`lstosa_snake.runner` after a job's products
   are in place): one small JSON record in ``<running dir>/provenance/jobs/<job>.json`` with the tool,
   its distribution and version (read from the tool environment's ``*.dist-info``, no import), the
   exact command line, every input named on it (size; sha256 for configuration files and files up
   to ``HASH_LIMIT``), the outputs, start/end times (UTC) and the host. Written atomically; a re-run
   of the job replaces it, so a record always describes the product on disk.
2. **Per run** (``python -m lstosa_snake.provenance run ...``, rule ``run_provenance``): the records
   are chained from the run's final products back to files no job made (raw data, configuration,
   models, drive log) into one W3C PROV document (PROV-JSON, the ``prov`` library) and a picture of
   its graph (SVG, graphviz ``dot``), as LSTOSA's ``provprocess`` does per run.

``lstosa-status --provenance FILE`` (:func:`explain`) prints the same chain as text for any product.

The record part uses only the standard library: the runner imports it for every job.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from . import atomic

RECORD_SCHEMA = "lstosa-snake/job-record/1"
#: files up to this size are hashed (configuration files always): hashing a multi-GB DL1 file per job
#: would cost more than the job's own reading
HASH_LIMIT = 16 * 1024 * 1024
CONFIG_SUFFIXES = {".json", ".yaml", ".yml", ".toml", ".cfg", ".ini"}
#: distributions whose versions every record lists (when installed in the tool's environment)
VERSIONED = ("lstchain", "ctapipe", "ctapipe_io_lst", "lstosa_snake", "numpy", "astropy", "scikit_learn", "tables")
#: a directory named on a command line (models, R0 root) is recorded with at most this many of its files
DIR_LISTING_LIMIT = 200
#: above this many activities the picture folds the sub-runs (LSTOSA's collections)
PICTURE_FOLD_ABOVE = 40
#: above this many activities (after folding) the picture is not drawn (dot needs minutes; the JSON has all)
PICTURE_ACTIVITY_LIMIT = 150
NAMESPACE = ("lstosa", "urn:lstosa-snake:")
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


# --------------------------------------------------------------------------- finding records


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


# --------------------------------------------------------------------------- PROV document


def _ident(prefix: str, text: str) -> str:
    """A PROV-N-safe local name: readable part + short hash of the full text (unique)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(text).name or text)[:80]
    return f"{prefix}{safe}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def prov_document(records: list[dict], files: dict[str, dict], products=()):
    """The W3C PROV document: files are entities, jobs activities, tool releases software agents."""
    from prov.model import ProvDocument  # noqa: PLC0415 (the runner imports this module: keep it light)

    doc = ProvDocument()
    ns = NAMESPACE[0]
    doc.add_namespace(*NAMESPACE)
    product_set = {str(Path(p).absolute()) for p in products}
    entities = {}

    def entity(path: str, info: dict | None):
        # one entity per file: a consumer may name it through a link (DL1/.../dl1b/ -> tailcut84/)
        real = os.path.realpath(path)
        if real in entities:
            return entities[real]
        info = info or files.get(path) or {"path": path}
        attrs = {"prov:label": Path(real).name, f"{ns}:path": real}
        if real != path:
            attrs[f"{ns}:named_as"] = path
        if info.get("kind") == "directory":
            attrs["prov:type"] = f"{ns}:Directory"
            attrs[f"{ns}:files"] = len(info.get("files", []))
        elif "count" in info:  # a folded set of sub-run files (picture only)
            attrs["prov:type"] = "prov:Collection"
            attrs["prov:label"] = f"{Path(path).name} ({info['count']} files)"
            attrs[f"{ns}:files"] = info["count"]
        else:
            if "size" in info:
                attrs[f"{ns}:size"] = int(info["size"])
            if info.get("sha256"):
                attrs[f"{ns}:sha256"] = info["sha256"]
            if info.get("role") == "config":
                attrs["prov:type"] = f"{ns}:ConfigurationFile"
            elif _is_raw(path):
                attrs["prov:type"] = f"{ns}:RawData"
            elif path in product_set:
                attrs["prov:type"] = f"{ns}:FinalProduct"
        entities[real] = doc.entity(f"{ns}:{_ident('file_', real)}", attrs)
        return entities[real]

    agents = {}
    for rec in records:
        act = doc.activity(
            f"{ns}:{_ident('job_', rec['job'])}", rec["start"], rec["end"],
            {"prov:label": rec["label"], f"{ns}:tool": rec.get("tool") or "", f"{ns}:tool_version":
             rec.get("version") or "", f"{ns}:command": rec["command_line"], f"{ns}:host": rec["host"],
             f"{ns}:user": rec.get("user") or "", f"{ns}:versions": json.dumps(rec.get("versions", {}),
                                                                              sort_keys=True)})
        dist = rec.get("distribution") or rec.get("tool") or "unknown"
        key = f"{dist}-{rec.get('version') or 'unknown'}"
        if key not in agents:
            agents[key] = doc.agent(f"{ns}:{_ident('software_', key)}",
                                    {"prov:type": "prov:SoftwareAgent", "prov:label": key})
        doc.wasAssociatedWith(act, agents[key])
        for i in rec.get("inputs", []):
            doc.used(act, entity(i["path"], files.get(i["path"], i)),
                     other_attributes={"prov:role": i.get("role", "input")})
        for o in rec.get("outputs", []):
            doc.wasGeneratedBy(entity(o["path"], files.get(o["path"], o)), act)
    for path, info in files.items():  # products whose job left no record
        entity(path, info)
    return doc


_SUBRUN_LABEL = re.compile(r" sub-run \d{4}$")
_SUBRUN_FILE = re.compile(r"(Run\d{5})\.\d{4}\.")


def folded(records: list[dict], files: dict[str, dict]) -> tuple[list[dict], dict[str, dict]]:
    """The chain with a run's sub-runs folded, as LSTOSA's collections: one activity per step
    ("r0_to_dl1 run 01874 (120 sub-runs)") and one entity per sub-run file pattern
    ("dl1_LST-1.Run01874.*.h5", N files), so that a run of hundreds of sub-runs can be drawn."""
    def fold_path(path: str) -> str:
        return _SUBRUN_FILE.sub(r"\1.*.", path)

    groups: dict[str, list[dict]] = {}
    for rec in records:
        groups.setdefault(_SUBRUN_LABEL.sub("", rec["label"]), []).append(rec)
    out = []
    for label, recs in groups.items():
        first = recs[0]
        n = f" ({len(recs)} sub-runs)" if _SUBRUN_LABEL.search(first["label"]) else ""

        def paths(key, recs=recs):
            seen: dict[str, dict] = {}
            for r in recs:
                for i in r.get(key, []):
                    seen.setdefault(fold_path(i["path"]), {"path": fold_path(i["path"]), "role": i.get("role")})
            return list(seen.values())

        out.append({**first, "job": label, "label": label + n, "inputs": paths("inputs"), "outputs": paths("outputs"),
                    "start": min(r["start"] for r in recs), "end": max(r["end"] for r in recs)})
    folded_files: dict[str, dict] = {}
    for path, info in files.items():
        entry = folded_files.setdefault(fold_path(path), {"path": fold_path(path), "role": (info or {}).get("role"),
                                                          "count": 0})
        entry["count"] += 1
    for entry in folded_files.values():
        if entry["count"] == 1:  # a run-level file: drawn as itself
            del entry["count"]
    return out, folded_files


def write_picture(doc, path: Path, n_activities: int) -> str:
    """SVG of the document's graph; a placeholder SVG saying why when it cannot be drawn."""
    why = None
    if shutil.which("dot") is None:
        why = "graphviz 'dot' is not installed"
    elif n_activities > PICTURE_ACTIVITY_LIMIT:
        why = f"{n_activities} activities even with the sub-runs folded: too large to draw (the PROV-JSON has them all)"
    if why is None:
        from prov.dot import prov_to_dot  # noqa: PLC0415

        graph = prov_to_dot(doc, use_labels=True, show_element_attributes=False, show_relation_attributes=False)
        atomic.write_bytes(path, graph.create(format="svg"))
        return "drawn"
    text = why.replace("&", "&amp;").replace("<", "&lt;")
    atomic.write_text(path, '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="40">'
                            f'<text x="10" y="25">provenance graph not drawn: {text}</text></svg>\n')
    return why


def run_provenance(products, record_dirs, json_out: Path, svg_out: Path) -> dict:
    index = RecordIndex(record_dirs)
    records, files = chain(products, index)
    doc = prov_document(records, files, products)
    atomic.write_text(Path(json_out), doc.serialize(indent=1) + "\n")
    if len(records) > PICTURE_FOLD_ABOVE:  # the picture of a long run shows its steps, not each sub-run
        records_drawn, files_drawn = folded(records, files)
        picture = write_picture(prov_document(records_drawn, files_drawn), Path(svg_out), len(records_drawn))
    else:
        picture = write_picture(doc, Path(svg_out), len(records))
    leaves = [p for p in files if index.producer(Path(p)) is None]
    return {"activities": len(records), "entities": len(files), "leaves": len(leaves), "picture": picture}


# --------------------------------------------------------------------------- workflow helpers


def run_document_paths(runs, json_pattern: str, svg_pattern: str) -> list[str]:
    """The PROV-JSON and graph of every run (patterns with ``{run}``, 5 digits)."""
    return [f.format(run=f"{int(r):05d}") for r in runs for f in (json_pattern, svg_pattern)]


def night_page_links(paths) -> str:
    """The night page's ``--link FILE TITLE`` arguments for the runs' provenance files (shell words)."""
    from shlex import quote  # noqa: PLC0415

    words = []
    for path in paths:
        run = Path(path).name.split(".")[1].removeprefix("Run")
        kind = "PROV-JSON" if str(path).endswith(".json") else "graph, SVG"
        words.append(f"--link {quote(str(path))} {quote(f'Run {run} provenance ({kind})')}")
    return " ".join(words)


# --------------------------------------------------------------------------- "how was this made"


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lstosa_snake.provenance", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="a run's PROV-JSON document and graph from the job records")
    r.add_argument("--product", action="append", required=True, type=Path, help="a final product of the run")
    r.add_argument("--records", action="append", default=[], type=Path, help="directory of job records")
    r.add_argument("--json", required=True, type=Path)
    r.add_argument("--svg", required=True, type=Path)
    e = sub.add_parser("explain", help="how a file was made")
    e.add_argument("file", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "explain":
        return explain(args.file)
    summary = run_provenance(args.product, args.records, args.json, args.svg)
    print(f"provenance: {summary['activities']} activities, {summary['entities']} files "
          f"({summary['leaves']} not made by the workflow's jobs); picture: {summary['picture']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
