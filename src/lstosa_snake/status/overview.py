"""Where a night stands, from the files on disk: ``lstosa-status --date 2020-01-27``.

Per sequence (calibration and DATA runs): the share of sub-runs done per stage (r0_to_dl1 = the
sub-run's DL1 file exists; datacheck; dl1_to_dl2; merged = the run's merged DL1, DL2, muons and
datacheck PDF), the failed sub-runs (failure markers left by the runner, plus those the run was
closed without), excluded and missing-raw sub-runs, the calibration used, CPU and wall time from
the benchmark files, and whether the night is closed (NightFinished.txt).

Fast on purpose (well under 2 s for a 10,000 sub-run night): every product directory is listed
once with ``os.scandir`` and names are matched against the plan; no per-file ``stat``, no
Snakemake import. :func:`night_status` returns the dict :func:`lstosa_snake.web.page.render_night_page`
takes, so the night page is made from the same numbers.

Also: a closed night whose products were lost shows it (lstosa_snake.jobs.integrity), summary rows
skipped as bad, runs without raw data, unused calibrations. The table is made by status_format.py,
the markers, policy and benchmarks are read by status_disk.py; columns and states: docs/status.md.

Exit codes: 0 shown; 2 bad arguments or configuration (one line on stderr).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from lstosa_snake.core.errors import LstosaError
from lstosa_snake.jobs.integrity import closed_night_problems
from lstosa_snake.night.opsconfig import load_config, project_dir
from lstosa_snake.night.plan import night_paths, plan_night

from .disk import (
    POLICY_FILE,
    SUBRUN_STAGES,
    benchmark_totals,
    list_names,
    night_failures,
    read_failures,
    read_policy,
    subrun_failures,
)
from .format import compact_list, format_table

# the readers of status_disk and compact_list are imported from here by lstosa-nightly and -reprocess
__all__ = ["night_status", "format_table", "compact_list", "list_names", "read_failures", "night_failures", "read_policy",
           "subrun_failures", "POLICY_FILE", "main"]


def _frac(n: int, d: int):
    # four decimals (0.01 %): JSON readers should not see 0.5154639175257731
    return None if d == 0 else round(n / d, 4)


def _seconds(value):
    return None if value is None else round(value, 2)


#: how the operator repairs a closed night whose products were lost (lstosa_snake.jobs.integrity)
REPAIR_COMMAND = "lstosa-nightly --repair"


def repair_command(paths) -> str:
    cmd = f"{REPAIR_COMMAND} --date {paths.night} --prod-id {paths.prod_id} --data-root {paths.data_root}"
    if paths.output_root != paths.data_root:
        cmd += f" --output-root {paths.output_root}"
    return cmd


def _entry(seq: int, parent, kind: str, run_id: int, n_subruns: int, calibration) -> dict:
    return {
        "seq": seq,
        "parent": parent,
        "type": kind,
        "run": run_id,
        "n_subruns": n_subruns,
        "calibration": calibration.label if calibration else None,
        "note": None,
        "stages": {},
        "failed_subruns": [],
        "excluded_subruns": [],
        "missing_raw_subruns": [],
        "calibration_files": {},
        "cpu_s": None,
        "wall_s": None,
        "source": None,
    }


class _Rows:
    """The table's rows from the plan and one listing per product directory."""

    def __init__(self, plan, failures: list[dict]):
        self.plan, self.failures = plan, failures
        p = self.paths = plan.paths
        self.dl1, self.dl2 = list_names(p.dl1_dir), list_names(p.dl2_dir)
        self.datacheck, self.muons = list_names(p.dl1_dir / "datacheck"), list_names(p.dl1_dir / "muons")
        self.by_subrun = subrun_failures(failures)
        self.bench = benchmark_totals(p.running_dir)
        # the calibration jobs' benchmarks live with the calibration (shared by productions)
        for run_id, (cpu, wall) in (*benchmark_totals(p.calibration_running_dir).items(),
                                    *benchmark_totals(p.gain_selection_running_dir).items()):
            t = self.bench.setdefault(run_id, [0.0, 0.0])
            t[0] += cpu
            t[1] += wall
        self.listings: dict[Path, set[str]] = {}
        self.unused = {(c.drs4_run, c.cali_run) for c in plan.unused_calibrations}
        # a DRS4 run may pair with several CALI runs: one row, before its first; unused if all are
        self.drs4_unused: dict[int, bool] = {}
        for seq in plan.sequences:
            if seq.kind != "DATA":
                c = seq.calibration
                is_unused = (c.drs4_run, c.cali_run) in self.unused
                self.drs4_unused[c.drs4_run] = self.drs4_unused.get(c.drs4_run, True) and is_unused
        self.drs4_shown: set[int] = set()

    def file_state(self, files: dict[str, Path]) -> dict[str, dict]:
        """{name: {path, exists}}: the one shape of calibration files in every row."""
        out = {}
        for name, path in files.items():
            if path.parent not in self.listings:  # one listing per calibration directory
                self.listings[path.parent] = list_names(path.parent)
            out[name] = {"path": str(path), "exists": path.name in self.listings[path.parent]}
        return out

    def finish(self, entry: dict, run_id: int) -> dict:
        entry["failures"] = [f for f in self.failures if f["run"] == run_id]
        if run_id in self.bench:
            entry["cpu_s"], entry["wall_s"] = (_seconds(v) for v in self.bench[run_id])
        return entry

    def calibration(self, seq) -> list[dict]:
        """The DRS4 row (unless shown already) and the CALI row of a calibration sequence."""
        cal, p = seq.calibration, self.paths
        rows = []
        if cal.drs4_run not in self.drs4_shown:
            self.drs4_shown.add(cal.drs4_run)
            try:
                n_subruns = self.plan.summary.run(cal.drs4_run).n_subruns
            except KeyError:
                n_subruns = 1
            rows.append(("DRS4", cal.drs4_run, n_subruns, {"drs4_pedestal": p.drs4_pedestal(cal.drs4_run, cal.date)},
                         self.drs4_unused[cal.drs4_run]))
        cali_files = {"time_calibration": p.time_calibration(cal.cali_run, cal.date),
                      "charge_calibration": p.charge_calibration(cal.cali_run, cal.date)}
        if self.plan.calibration_lookup is not None:  # LSTOSA's looked-up time calibration, F-factor systematics
            cali_files.update(self.plan.calibration_lookup.files(cal.cali_run, cal.date))
        # the CALI run may be an earlier night's (cal.cali_night): its sub-runs from the sequence
        rows.append((seq.kind, cal.cali_run, seq.run.n_subruns, cali_files, (cal.drs4_run, cal.cali_run) in self.unused))
        out = []
        for kind, run_id, n_subruns, files, unused in rows:
            entry = _entry(seq.seq, None, kind, run_id, n_subruns, cal)
            entry["calibration_files"] = self.file_state(files)
            done = [f["exists"] for f in entry["calibration_files"].values()]
            entry["stages"] = {"calibration": None if unused else _frac(sum(done), len(done))}
            entry["unused"] = unused
            if unused:  # serves no DATA run tonight: not produced, not a problem
                entry["note"] = "unused"
            out.append(self.finish(entry, run_id))
        return out

    def data(self, seq) -> dict:
        plan, run_id = self.plan, seq.run.run_id
        entry = _entry(seq.seq, seq.parent, seq.kind, run_id, seq.run.n_subruns, seq.calibration)
        if run_id in plan.catalog:  # the night's RunCatalog, when there is one
            entry["source"] = plan.catalog[run_id].source_name
        rp = plan.runs.get(run_id)
        entry["processed"] = rp is not None
        entry["excluded_run"] = run_id in plan.excluded_runs
        entry["missing_raw_run"] = run_id in plan.missing_raw_runs
        if rp is None:
            # "excluded" only for what the configuration leaves out; no raw file at all is data loss
            entry["note"] = "missing raw data" if entry["missing_raw_run"] else "excluded"
            entry["stages"] = {k: None for k in (*SUBRUN_STAGES, "merge")}
            return self.finish(entry, run_id)
        r = rp.run
        planned = sorted(rp.subruns + rp.failed)
        counts = {
            "r0_to_dl1": sum(f"dl1_LST-1.Run{r}.{s:04d}.h5" in self.dl1 for s in planned),
            "datacheck": sum(f"datacheck_dl1_LST-1.Run{r}.{s:04d}.h5" in self.datacheck for s in planned),
            "dl1_to_dl2": sum(f"dl2_LST-1.Run{r}.{s:04d}.h5" in self.dl2 for s in planned),
        }
        merged = {
            "dl1": f"dl1_LST-1.Run{r}.h5" in self.dl1,
            "dl2": f"dl2_LST-1.Run{r}.h5" in self.dl2,
            "muons": f"muons_LST-1.Run{r}.fits" in self.muons,
            "datacheck_pdf": f"datacheck_dl1_LST-1.Run{r}.pdf" in self.datacheck,
        }
        entry["stages"] = {k: _frac(v, len(planned)) for k, v in counts.items()}
        entry["stages"]["merge"] = _frac(sum(merged.values()), len(merged))
        failed = dict(self.by_subrun.get(run_id, {}))
        for s in rp.failed:
            failed.setdefault(s, [])
        entry.update(
            planned_subruns=len(planned),
            done=counts,
            merged=merged,
            failed_subruns=sorted(failed),
            failed_stages={str(s): rules for s, rules in sorted(failed.items())},
            closed_without=list(rp.failed),
            excluded_subruns=list(rp.excluded),
            missing_raw_subruns=list(rp.missing_raw),
            calibration_files=self.file_state(plan.calibration_files(run_id)),
        )
        return self.finish(entry, run_id)


def night_status(config: dict, base: Path | None = None) -> dict:
    """The night's state as the dict ``webpage.render_night_page`` takes (plus detail keys)."""
    base = Path(base or project_dir())
    config = dict(config)
    paths = night_paths(config, base)
    rdir = paths.running_dir
    policy = read_policy(rdir)
    closed_without = sorted(set(config.get("failed_subruns") or []) | set(policy.get("failed_subruns") or []))
    config["failed_subruns"] = closed_without
    closed = paths.night_finished.exists()
    # a closed night whose final products were lost or changed must not look finished
    missing_products = closed_night_problems(paths) if closed else []
    status = {
        "date": str(paths.night),
        "prod_id": paths.prod_id,
        "closed": closed,
        "state": ("closed_products_missing" if missing_products else "closed") if closed else "open",
        "calibration_only": False,
        "generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "night_summary": None,
        "running_dir": str(rdir),
        "sequences": [],
        "plots": [],
        "pdfs": [],
        "problems": [],
        "failures": [],
        "open_runs": policy.get("open_runs", []),
        "missing_products": missing_products,
        "repair_command": repair_command(paths) if missing_products else None,
        "skipped_rows": [],
        "excluded_runs": [],
        "missing_raw_runs": [],
        "unused_calibrations": [],
    }
    if missing_products:  # the repair command first: a long list of files is cut in the table
        status["problems"].append(f"closed night with missing or changed products; repair: {status['repair_command']}")
        status["problems"] += [f"closed night: {m}" for m in missing_products]
    try:
        plan = plan_night(config, base)
    except LstosaError as exc:
        status["problems"].append(f"no plan for the night yet: {exc}")
        return status
    summary = plan.summary
    status["night_summary"] = summary.path
    status["skipped_rows"] = [
        {"file": summary.path, "line": r.line, "run": r.run_id, "reason": r.reason}
        for r in summary.skipped
    ]
    status["excluded_runs"] = sorted(plan.excluded_runs)
    status["missing_raw_runs"] = sorted(plan.missing_raw_runs)
    status["unused_calibrations"] = [c.label for c in plan.unused_calibrations]
    status["calibration_only"] = plan.calibration_only
    status["input_state"] = plan.input_state.describe()
    rows = _Rows(plan, night_failures(paths))
    for seq in plan.sequences:
        status["sequences"] += rows.calibration(seq) if seq.kind != "DATA" else [rows.data(seq)]
    failures = status["failures"] = rows.failures
    for f in failures:
        where = f"run {f['run']:05d}" if f["run"] is not None else "night"
        if f["subrun"] is not None:
            where += f" sub-run {f['subrun']:04d}"
        status["problems"].append(f"{f['rule']} failed for {where}: {f['reason']}")
    for run in status["missing_raw_runs"]:  # listed, never processed: data lost or not copied yet
        status["problems"].append(f"run {run:05d}: missing raw data (listed in the night summary, no raw file "
                                  f"in {paths.r0_dir})")
    for run in status["open_runs"]:
        status["problems"].append(f"run {int(run):05d} left open: too few sub-runs succeeded to close it")
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lstosa-status", description=__doc__.split("\n\n")[0])
    parser.add_argument("--date", help="night (YYYY-MM-DD or YYYYMMDD); default: last night")
    parser.add_argument("--data-root")
    parser.add_argument("--output-root")
    parser.add_argument("--prod-id")
    parser.add_argument("--config", metavar="FILE", help="YAML file of config keys over config/config.yaml")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.add_argument("--provenance", metavar="FILE", help="print how FILE was made: its jobs, tools, versions,"
                        " commands and inputs back to the raw files (docs/provenance.md)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.provenance:  # needs no night: the records are found from the file's path
        from lstosa_snake.provenance.chain import explain  # noqa: PLC0415

        return explain(Path(args.provenance))
    from lstosa_snake.night.dates import default_night  # noqa: PLC0415

    base = project_dir()
    try:
        config = load_config(base, args.config)
        config["date"] = args.date or str(default_night())
        if args.data_root:
            config["data_root"] = args.data_root
        if args.output_root:
            config["output_root"] = args.output_root
        if args.prod_id:
            config["prod_id"] = args.prod_id
        status = night_status(config, base)
    except LstosaError as exc:
        print(f"lstosa-status: ERROR: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(status, indent=1))
    else:
        print(format_table(status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
