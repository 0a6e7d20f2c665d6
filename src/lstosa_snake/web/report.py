"""The night report, written when the night closes, from the plan and the products on disk.

``python -m lstosa_snake.web.report close ...`` is the ``close_night`` rule's command. The report is
JSON (``running_analysis/<date>/<prod_id>/night_report.json``) so that the status view, the web
page and people's scripts read the same facts; the ``NightFinished.txt`` flag is written last.
Both are written atomically (temporary file + rename).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from lstosa_snake.core.atomic import write_text as atomic_write_text
from lstosa_snake.core.errors import LstosaError
from lstosa_snake.night.plan import NightPlan, plan_night


def count_events(path: Path, node: str) -> int | None:
    """Rows of one table of an HDF5 product, or None when h5py/tables are not importable here."""
    try:
        import tables  # noqa: PLC0415 (only in the tools' environment)
    except ImportError:
        return None
    try:
        with tables.open_file(str(path)) as f:
            return int(f.get_node(node).nrows)
    except Exception:  # noqa: BLE001 (PyTables raises HDF5ExtError, NoSuchNodeError, OSError ...)
        return None


DL1_NODE = "/dl1/event/telescope/parameters/LST_LSTCam"
DL2_NODE = "/dl2/event/telescope/parameters/LST_LSTCam"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def gain_selection_summary(plan: NightPlan) -> dict | None:
    """A legacy_raw night's R0G product: the files per run and the volume saved against R0."""
    if not plan.input_state.needs_gain_selection:
        return None
    p = plan.paths
    runs, r0_total, r0g_total = [], 0, 0
    for rp in plan.runs.values():
        pairs = [(p.r0(rp.run_id, s, k), p.r0g(rp.run_id, s, k)) for s in rp.subruns for k in (1, 2, 3, 4)]
        done = [(a, b) for a, b in pairs if _size(b) > 0]
        r0_bytes, r0g_bytes = sum(_size(a) for a, _ in done), sum(_size(b) for _, b in done)
        r0_total, r0g_total = r0_total + r0_bytes, r0g_total + r0g_bytes
        runs.append({"run": rp.run_id, "r0g_files": len(done), "expected_files": len(pairs),
                     "r0_bytes": r0_bytes, "r0g_bytes": r0g_bytes})
    return {
        "r0g_dir": str(p.r0g_dir),
        "runs": runs,
        "r0_bytes": r0_total,
        "r0g_bytes": r0g_total,
        "saved_fraction": round(1 - r0g_total / r0_total, 4) if r0_total else None,
    }


def build_report(plan: NightPlan, benchmarks: dict | None = None) -> dict:
    p = plan.paths
    missing_raw = set(plan.missing_raw_runs)
    unused_cals = list(plan.unused_calibrations)
    unused = {(c.drs4_run, c.cali_run) for c in unused_cals}
    sequences = []
    for seq in plan.sequences:
        entry = {
            "seq": seq.seq,
            "parent": seq.parent,
            "type": seq.kind,
            "run": seq.run.run_id,
            "n_subruns": seq.run.n_subruns,
            "calibration": seq.calibration.label if seq.calibration else None,
        }
        rp = plan.runs.get(seq.run.run_id) if seq.kind == "DATA" else None
        if seq.kind == "DATA":
            # "excluded" is the configuration's choice; a run without any raw file is data loss
            entry["excluded_run"] = seq.run.run_id in plan.excluded_runs
            entry["missing_raw_run"] = seq.run.run_id in missing_raw
        else:
            entry["drs4_run"] = seq.calibration.drs4_run
            entry["unused"] = (seq.calibration.drs4_run, seq.calibration.cali_run) in unused
        if rp is not None:
            entry.update(
                processed_subruns=len(rp.subruns),
                excluded_subruns=rp.excluded,
                missing_raw_subruns=rp.missing_raw,
                failed_subruns=rp.failed,
                calibration_files={k: str(v) for k, v in plan.calibration_files(rp.run_id).items()},
                products={
                    "dl1": str(p.dl1_run(rp.run_id)),
                    "dl2": str(p.dl2_run(rp.run_id)),
                    "muons": str(p.muons_run(rp.run_id)),
                    "datacheck_pdf": str(p.datacheck_run_pdf(rp.run_id)),
                },
                dl1_events=count_events(p.dl1_run(rp.run_id), DL1_NODE),
                dl2_events=count_events(p.dl2_run(rp.run_id), DL2_NODE),
            )
        sequences.append(entry)
    return {
        "date": str(plan.paths.night),
        "prod_id": p.prod_id,
        "night_summary": plan.summary.path,
        "closed": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "calibration_only": plan.calibration_only,
        "input_state": {"state": plan.input_state.state, "source": plan.input_state.source,
                        "description": plan.input_state.describe()},
        "gain_selection": gain_selection_summary(plan),
        "sequences": sequences,
        "excluded_runs": sorted(plan.excluded_runs),
        "missing_raw_runs": sorted(missing_raw),
        "unused_calibrations": [
            {"drs4_run": c.drs4_run, "cali_run": c.cali_run, "date": str(c.date), "label": c.label} for c in unused_cals
        ],
        "skipped_rows": [
            {"file": plan.summary.path, "line": r.line, "run": r.run_id, "reason": r.reason} for r in plan.summary.skipped
        ],
        "night_datacheck": str(p.night_datacheck),
    }


def _close(args) -> int:
    config = json.loads(args.config_json)
    try:
        plan = plan_night(config, Path(args.base))
    except LstosaError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    report = build_report(plan)
    atomic_write_text(Path(args.report), json.dumps(report, indent=2) + "\n")
    n_runs = sum(1 for s in report["sequences"] if s["type"] == "DATA")
    for finished in args.finished:  # LSTOSA's OSA/Closer flag first: the workflow's own is written last
        atomic_write_text(
            Path(finished),
            f"night {report['date']} closed {report['closed']} prod {report['prod_id']} runs {n_runs}\n",
        )
    print(f"night {report['date']} closed: report {args.report}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lstosa_snake.web.report")
    sub = parser.add_subparsers(dest="command", required=True)
    close = sub.add_parser("close", help="write the night report and the NightFinished flag")
    close.add_argument("--base", required=True)
    close.add_argument("--config-json", required=True)
    close.add_argument("--report", required=True)
    close.add_argument("--finished", required=True, action="append", help="flag file(s), written in this order")
    args = parser.parse_args(argv)
    return _close(args)


if __name__ == "__main__":
    sys.exit(main())
