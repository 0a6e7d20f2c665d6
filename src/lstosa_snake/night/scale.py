"""Night summaries of the seed's shape at any size, for dry runs, benchmarks and status tests.

The seed night has 8 DATA runs of 74-225 sub-runs (1,521 in all) after one DRS4 and one CALI run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .dates import compact
from .nightsummary import NightSummary, Run, TimeReference
from .summary_writer import write_night_summary_text

SEED_SUBRUNS = (194, 225, 74, 210, 180, 198, 221, 219)  # 1,521 sub-runs


def subruns_for(total: int) -> list[int]:
    """Split ``total`` sub-runs over runs of the seed's sizes (repeating the pattern)."""
    sizes, left, i = [], total, 0
    while left > 0:
        n = min(SEED_SUBRUNS[i % len(SEED_SUBRUNS)], left)
        sizes.append(n)
        left -= n
        i += 1
    return sizes


def seed_shaped_night(night: dt.date, total_subruns: int = 1521, first_run: int = 1872) -> NightSummary:
    start = dt.datetime.combine(night, dt.time(20, 30))
    ref = TimeReference(3, 1580157904186709543, 5186709300)
    runs = [
        Run(first_run, 1, "DRS4", start),
        Run(first_run + 1, 1, "CALI", start + dt.timedelta(minutes=5)),
    ]
    t = start + dt.timedelta(minutes=14)
    sizes = subruns_for(total_subruns)
    # <10 s per sub-run, but a bigger-than-life night must still end by the next morning
    per_subrun = min(10.0, 9 * 3600 / max(1, sum(sizes)))
    for i, n in enumerate(sizes):
        runs.append(Run(first_run + 2 + i, n, "DATA", t, ref, ref))
        t += dt.timedelta(seconds=per_subrun * n + 60)
    return NightSummary(night, tuple(runs))


def write_seed_shaped_tree(data_root: Path, night: dt.date, total_subruns: int = 1521) -> NightSummary:
    """A night summary plus empty R0 stand-in files (for dry runs only: no tool can read them)."""
    summary = seed_shaped_night(night, total_subruns)
    d = compact(night)
    r0 = Path(data_root) / "R0" / d
    r0.mkdir(parents=True, exist_ok=True)
    for run in summary.runs:
        for s in range(run.n_subruns):
            for stream in (1, 2, 3, 4):
                (r0 / f"LST-1.{stream}.Run{run.run_id:05d}.{s:04d}.fits.fz").touch()
    ns = Path(data_root) / "monitoring" / "NightSummary" / f"NightSummary_{d}.txt"
    ns.parent.mkdir(parents=True, exist_ok=True)
    ns.write_text(write_night_summary_text(summary))
    drive = Path(data_root) / "monitoring" / "DrivePositioning" / f"DrivePosition_log_{d}.txt"
    drive.parent.mkdir(parents=True, exist_ok=True)
    drive.touch()
    return summary
