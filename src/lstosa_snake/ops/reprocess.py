"""Reprocess nights under a new production id: ``lstosa-reprocess --prod-id v0.2 --from D --to D``.

Nights are processed one after another, each exactly as lstosa-nightly does it (per-night lock,
log, failure policy), so an interrupted reprocessing is resumed by running the same command
again. Concurrency is bounded by Snakemake itself: ``--jobs`` (with ``--profile profiles/slurm``:
SLURM jobs queued + running) and ``--cores``; there is no sleep-and-poll loop.

Safety:

* Products of different production ids live in different directories (DL1/<date>/<prod_id>/,
  DL2/<date>/<prod_id>/, running_analysis/<date>/<prod_id>/). Before anything runs, every night
  is checked: if outputs of ``--prod-id`` already exist and were made by another production (the
  nightly one, or a reprocessing with other settings, per ``running_analysis/<date>/<prod>/
  production.json``), the command refuses and names the night. The same reprocessing (same
  settings) is resumed.
* Calibration files (monitoring/PixelCalibration/Cat-A/.../<calibration_version>/) are shared by
  all productions of a calibration version: existing ones are reused, never remade. Snakemake
  runs with ``--rerun-triggers mtime`` so that a different production's parameters (e.g. its
  staging directory) do not count as a reason to remake them, and the files' (inode, size,
  mtime) are compared before and after each night; a change is reported as an error.

Exit codes: 0 every night closed; 2 bad arguments, or refused (outputs of another production);
3 some night not closed (see the table); 4 a night timed out; 5 a night ended in error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from lstosa_snake.core.errors import ConfigError, LstosaError
from lstosa_snake.night.dates import parse_night_date
from lstosa_snake.night.opsconfig import project_dir
from lstosa_snake.night.plan import night_paths
from lstosa_snake.status.overview import list_names

from .nightly import (
    EXIT_DAMAGED,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_OPEN,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    Night,
    NightResult,
    Settings,
    add_common_arguments,
    common_settings,
    join_option_values,
)
from .production import production_identity, read_manifest

CALIBRATION_KINDS = ("drs4_baseline", "calibration", "drs4_time_sampling_from_FF")


def night_list(dates=None, start=None, end=None) -> list[dt.date]:
    if dates:
        nights = [parse_night_date(d) for d in dates]
    elif start and end:
        a, b = parse_night_date(start), parse_night_date(end)
        if b < a:
            raise ConfigError(f"--to {end} is before --from {start}")
        nights = [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]
    else:
        raise ConfigError("give the nights: --dates D [D ...] or --from D --to D")
    return sorted(set(nights))


def has_outputs(paths) -> bool:
    return any(list_names(d) for d in (paths.dl1_dir, paths.dl2_dir)) or paths.running_dir.is_dir() and bool(
        list_names(paths.running_dir) - {".nightly.lock"})


def check_production(settings: Settings) -> str | None:
    """Why this production id must not be used for this night (None: new or the same production)."""
    config = settings.config()
    paths = night_paths(config, settings.base)
    if not has_outputs(paths):
        return None
    manifest = read_manifest(paths.running_dir)
    if not manifest:
        return (f"night {paths.night}: outputs of prod id {paths.prod_id} exist ({paths.dl1_dir.parent}/"
                f"{paths.prod_id}, ...) with no production record: made by another production")
    if manifest.get("kind") != "reprocess":
        return (f"night {paths.night}: prod id {paths.prod_id} is the {manifest.get('kind')} production's "
                f"(created {manifest.get('created')}); choose a new prod id")
    mine, theirs = production_identity(config, settings.base), manifest.get("identity", {})
    differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
    if differ:
        return (f"night {paths.night}: prod id {paths.prod_id} was made with other settings ({', '.join(differ)}); "
                "choose a new prod id")
    return None


def calibration_state(settings: Settings, night: dt.date) -> dict[str, tuple]:
    """(inode, size, mtime_ns) of the night's calibration files, to prove they were not remade."""
    paths = night_paths(settings.config(), settings.base)
    root = paths.output_root / "monitoring" / "PixelCalibration" / "Cat-A"
    state = {}
    for kind in CALIBRATION_KINDS:
        d = root / kind / night.strftime("%Y%m%d") / paths.calib_version
        for name in list_names(d):
            st = (d / name).stat()
            state[str(d / name)] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return state


def format_table(rows: list[dict]) -> str:
    head = ("night", "state", "exit", "runs merged", "failed sub-runs", "minutes", "log")
    body = [(r["date"], r["state"], str(r["exit_code"]), r["runs"], r["failed"], f"{r['seconds'] / 60:.1f}",
             r["log"] or "-") for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths)).rstrip() for b in body]
    return "\n".join(lines)


#: exit codes from the best to the worst: the command exits with its worst night's
SEVERITY = [EXIT_OK, EXIT_OPEN, EXIT_DAMAGED, EXIT_TIMEOUT, EXIT_ERROR]


def dry_run(nights, settings_for) -> int:
    """--dry-run: per night what Snakemake would run; writes nothing (no lock, log or record)."""
    print(f"lstosa-reprocess: dry run of {len(nights)} night(s): nothing is written", flush=True)
    worst = EXIT_OK
    for night in nights:
        try:
            result = Night(settings_for(night)).plan_only()
        except LstosaError as exc:
            print(f"lstosa-reprocess: night {night}: ERROR: {exc}", file=sys.stderr)
            return EXIT_USAGE
        worst = max(worst, result.exit_code, key=SEVERITY.index)
    return worst


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lstosa-reprocess", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__[__doc__.index("Exit codes"):],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prod-id", required=True, help="the new production id (required)")
    parser.add_argument("--dates", nargs="+", metavar="DATE", help="nights to reprocess")
    parser.add_argument("--from", dest="start", metavar="DATE", help="first night of a range")
    parser.add_argument("--to", dest="end", metavar="DATE", help="last night of a range (included)")
    add_common_arguments(parser)
    args = parser.parse_args(join_option_values(sys.argv[1:] if argv is None else list(argv)))
    base = project_dir()
    try:
        nights = night_list(args.dates, args.start, args.end)
        kwargs, dry = common_settings(args, "lstosa-reprocess")
        kwargs["snakemake_args"] = ["--rerun-triggers", "mtime", *kwargs["snakemake_args"]]

        def settings_for(night):
            return Settings(date=night, base=base, kind="reprocess", **kwargs)

        refusals = [why for n in nights if (why := check_production(settings_for(n)))]
    except LstosaError as exc:
        print(f"lstosa-reprocess: ERROR: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if refusals:
        for why in refusals:
            print(f"lstosa-reprocess: REFUSED: {why}", file=sys.stderr)
        print("lstosa-reprocess: nothing was run; outputs of another production are never overwritten",
              file=sys.stderr)
        return EXIT_USAGE
    if dry:
        return dry_run(nights, settings_for)
    print(f"lstosa-reprocess: {len(nights)} night(s) into prod id {args.prod_id}", flush=True)
    rows, worst = [], EXIT_OK
    for night in nights:
        settings = settings_for(night)
        before = calibration_state(settings, night)
        try:
            result = Night(settings).run()
        except LstosaError as exc:
            print(f"lstosa-reprocess: night {night}: ERROR: {exc}", file=sys.stderr)
            result = NightResult(str(night), args.prod_id, "error", EXIT_ERROR, summary=str(exc))
        after = calibration_state(settings, night)
        changed = [f for f, st in before.items() if after.get(f) != st]
        if changed:
            print(f"lstosa-reprocess: ERROR: night {night}: existing calibration files were changed: "
                  + ", ".join(changed), file=sys.stderr)
            result.state, result.exit_code = "error", EXIT_ERROR
        if result.state == "busy":
            result.exit_code = EXIT_OPEN  # not processed by us: not closed as far as this run knows
        rows.append({
            "date": result.date, "state": result.state, "exit_code": result.exit_code,
            "runs": str(len(result.runs_closed)) if result.state != "already-closed" else "all",
            "failed": str(sum(len(v) for v in result.failed_subruns.values())), "seconds": result.seconds,
            "log": result.log,
        })
        worst = max(worst, result.exit_code, key=SEVERITY.index)
    print(format_table(rows), flush=True)
    return worst


if __name__ == "__main__":
    sys.exit(main())
