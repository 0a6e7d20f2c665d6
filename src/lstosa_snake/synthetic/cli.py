"""``lstosa-make-night``: write a synthetic LST-1 night that the real lstchain tools accept.

Runs in the tools' environment (.venv-lst), which has numpy/ctapipe/protozfits.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from pathlib import Path


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="lstosa-make-night",
        description=(
            "Generate a synthetic LST-1 night: R0 (CTA R1v1 zfits) files of one DRS4 run, one "
            "calibration run and N DATA runs, the drive log, the NightSummary and truth tables."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--date", default="2020-01-27", help="observation date YYYY-MM-DD (runs start ~20:00 UTC)")
    p.add_argument("--output", "-o", type=Path, default=Path("demo/data"), help="DATA_ROOT to write into")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed -> same event content)")
    p.add_argument("--data-runs", type=int, default=2, help="number of DATA runs")
    p.add_argument("--subruns", type=int, default=2, help="sub-runs per DATA run")
    p.add_argument("--events-per-subrun", type=int, default=200, help="events per DATA sub-run")
    p.add_argument("--drs4-events", type=int, default=1000, help="events of the DRS4 run (>= 500)")
    p.add_argument("--cali-events", type=int, default=1000, help="events of the calibration run (80%% flat-field)")
    p.add_argument("--first-run", type=int, default=1872, help="run number of the DRS4 run")
    p.add_argument("--flatfield-pe", type=float, default=80.0, help="mean p.e. per pixel of flat-field events")
    p.add_argument("--data-format", choices=("CTAR1", "LSTCAM"), default="CTAR1",
                   help="R0 format: CTA R1v1 (EVBv6, LST data since Dec 2023) or LSTCAM (EVBv5, before);"
                        " only EVBv5 event times come from the Dragon counters and the run summary's reference")
    p.add_argument("--input-state", choices=("gain_selected", "legacy_raw"), default="gain_selected",
                   help="what the event builder did to the DATA runs: kept one gain of physics events"
                        " (gain_selected, LST-1 since 2023) or both (legacy_raw: the workflow gain-selects them"
                        " with lstchain_r0_to_r0g); calibration runs always keep both gains")
    p.add_argument("--interleaved-fraction", type=float, default=0.04,
                   help="share of interleaved pedestal events, and as much flat-field, in DATA runs"
                        " (the tail-cut finder needs >= 100 pedestals per sub-run)")
    p.add_argument("--data-nsb-pe", type=float, nargs="+", metavar="PE",
                   help="NSB p.e. per pixel and event of each DATA run (last value repeats; default: 0.3)")
    p.add_argument("--data-gain-drift", type=float, nargs="+", metavar="X",
                   help="gain change of each DATA run since the calibration run, in every other module"
                        " (last value repeats; truth in synthetic_truth/<date>/night.json)")
    p.add_argument("--no-night-summary", action="store_true", help="do not write monitoring/NightSummary")
    p.add_argument("--overwrite", action="store_true", help="replace R0 files of this date if present")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: when stderr is a terminal)")
    p.add_argument("--verbose", "-v", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        date = dt.date.fromisoformat(args.date)
    except ValueError:
        print(f"lstosa-make-night: invalid --date {args.date!r}, expected YYYY-MM-DD", file=sys.stderr)
        return 2

    try:
        from .night import generate_night, r0_dir
    except ImportError as e:  # e.g. run from Snakemake's environment, which has no numpy/ctapipe
        print(f"lstosa-make-night: {e}; run it from the lstchain tools' environment (.venv-lst/bin)", file=sys.stderr)
        return 2
    from .plan import make_plan

    try:
        plan = make_plan(
            date, seed=args.seed, first_run=args.first_run, data_runs=args.data_runs,
            subruns=args.subruns, events_per_subrun=args.events_per_subrun,
            drs4_events=args.drs4_events, cali_events=args.cali_events, flatfield_pe=args.flatfield_pe,
            data_format=args.data_format, interleaved_fraction=args.interleaved_fraction,
            data_nsb_pe=args.data_nsb_pe, data_gain_drift=args.data_gain_drift, input_state=args.input_state,
        )
    except ValueError as e:
        print(f"lstosa-make-night: {e}", file=sys.stderr)
        return 2

    out = r0_dir(args.output, plan)
    existing = sorted(out.glob("LST-1.*.fits.fz")) if out.exists() else []
    if existing:
        if not args.overwrite:
            print(f"lstosa-make-night: {out} already holds {len(existing)} R0 files (use --overwrite)", file=sys.stderr)
            return 1
        for f in existing:
            f.unlink()

    progress = sys.stderr.isatty() if args.progress is None else args.progress
    t0 = time.monotonic()
    written = generate_night(args.output, plan, night_summary=not args.no_night_summary, progress=progress)
    n_files = len(list(out.glob("LST-1.*.fits.fz")))
    n_events = sum(r.n_subruns * r.events_per_subrun for r in plan.runs)
    print(
        f"synthetic night {plan.yyyymmdd}: {len(plan.runs)} runs, {n_events} events, {n_files} R0 files "
        f"in {written['r0_dir']} ({time.monotonic() - t0:.1f} s)"
    )
    for key, path in written.items():
        if key != "r0_dir":
            print(f"  {key}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
