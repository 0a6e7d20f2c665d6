"""``lstosa-probe-run``: one run's RunSummary row from its first sub-run, as lstchain makes it.

Runs in the lstchain tools' environment. The follow mode asks it once per new run (when the run's
first sub-run is complete), so that the rows it writes during the night are the ones
``lstchain_create_run_summary`` writes the next morning (same functions, same fix 1 of
:mod:`lstosa_snake.jobs.lstchain_fixes`); only ``n_subruns`` grows while the run is taken.

    lstosa-probe-run --r0-dir R0/20200127 --run 1874 [--run 1875 ...]   -> one JSON object per line
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path


def probe(r0_dir: Path, run: int) -> dict:
    from lstchain.scripts import lstchain_create_run_summary as script

    from lstosa_snake.jobs.lstchain_fixes import patch_run_summary

    patch_run_summary(script)
    counters = script.read_counters_or_get_default(r0_dir, run)
    row = {
        "run_id": run,
        "run_type": script.guess_run_type(r0_dir, run, counters),
        "data_format": script.get_data_format(r0_dir, run),
        "evb_preprocessing": script.get_evb_preprocessing(r0_dir, run),
    }
    for key, value in counters.items():
        row[key] = value.item() if hasattr(value, "item") else value
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="RunSummary rows of runs, from their first sub-run")
    parser.add_argument("--r0-dir", type=Path, required=True)
    parser.add_argument("--run", type=int, action="append", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for run in args.run:
        print(json.dumps(probe(args.r0_dir, run), default=str), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
