"""The per-run W3C PROV document (PROV-JSON, the ``prov`` library) and its picture (SVG, graphviz ``dot``):
``python -m lstosa_snake.provenance run ...`` (rule ``run_provenance``), and the rules' helpers that name the
run's documents and link them from the night page."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

from lstosa_snake.core import atomic

from .chain import RecordIndex, _is_raw, chain, explain

#: above this many activities the picture folds the sub-runs (LSTOSA's collections)
PICTURE_FOLD_ABOVE = 40
#: above this many activities (after folding) the picture is not drawn (dot needs minutes; the JSON has all)
PICTURE_ACTIVITY_LIMIT = 150
NAMESPACE = ("lstosa", "urn:lstosa-snake:")


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
