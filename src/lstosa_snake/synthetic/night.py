"""Generate a whole synthetic night: R0 files, monitoring files and truth tables."""
from __future__ import annotations

import csv
import dataclasses
import logging
import math
from pathlib import Path

import numpy as np

from . import camera as cam
from .monitoring import write_drive_log, write_night_summary
from .plan import EVENT_TYPE_NAMES, NightPlan, RunPlan
from .r0 import RunClock, write_subrun

log = logging.getLogger(__name__)

TRUTH_COLUMNS = [
    "event_id", "event_type", "event_type_name", "true_intensity_pe",
    "true_x_m", "true_y_m", "true_width_m", "true_length_m", "true_psi_deg", "model_intensity_pe",
    "true_time_tai_ns",
]


def r0_dir(root: Path, plan: NightPlan) -> Path:
    return Path(root) / "R0" / plan.yyyymmdd


def truth_dir(root: Path, plan: NightPlan) -> Path:
    return Path(root) / "synthetic_truth" / plan.yyyymmdd


def truth_csv_path(root: Path, plan: NightPlan, run: int, subrun: int) -> Path:
    return truth_dir(root, plan) / f"truth_LST-1.Run{run:05d}.{subrun:04d}.csv"


def _rng(seed: int, *keys: int):
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def write_truth(path: Path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=TRUTH_COLUMNS)
        w.writeheader()
        for row in rows:
            out = {k: row.get(k, math.nan) for k in TRUTH_COLUMNS}
            out["event_type_name"] = EVENT_TYPE_NAMES[row["event_type"]]
            for k, v in out.items():
                if isinstance(v, float):
                    out[k] = f"{v:.6g}"
            w.writerow(out)


def gain_drift_factors(drift: float) -> np.ndarray:
    """Per pixel (by id) gain factor of a run with ``gain_drift``: 1 + drift in odd-numbered
    modules, 1 elsewhere (a pattern, so that a camera-wide rescaling cannot fake its recovery)."""
    module = np.arange(cam.N_PIXELS) // cam.N_PIXELS_MODULE
    return np.where(module % 2 == 1, 1.0 + drift, 1.0)


def generate_run(root: Path, plan: NightPlan, run: RunPlan, elec, progress=None):
    if run.gain_drift:
        f = gain_drift_factors(run.gain_drift)
        elec = dataclasses.replace(elec, gain_hg=elec.gain_hg * f, gain_lg=elec.gain_lg * f)
    nsb_pe = plan.nsb_pe if run.nsb_pe is None else run.nsb_pe
    rng_clock = _rng(plan.seed, run.run, 99999)
    clock = RunClock(run, rng_clock)
    types: dict[str, int] = {}
    for subrun in range(run.n_subruns):
        rng = _rng(plan.seed, run.run, subrun)
        rows, first = write_subrun(
            r0_dir(root, plan), run, subrun, rng, clock, elec,
            plan.flatfield_pe, nsb_pe, progress=progress, data_format=plan.data_format,
        )
        if subrun == 0:
            run.first_event = first
        write_truth(truth_csv_path(root, plan, run.run, subrun), rows)
        for row in rows:
            name = EVENT_TYPE_NAMES[row["event_type"]]
            types[name] = types.get(name, 0) + 1
    run.events_per_type = types
    run.last_event_unix = (clock.tai_ns / 1e9) - 37


def generate_night(root: Path, plan: NightPlan, night_summary: bool = True, progress: bool = False) -> dict:
    """Write everything for ``plan`` under ``root``; returns the paths written."""
    root = Path(root)
    elec = cam.Electronics.draw(_rng(plan.seed, 0))
    plan.electronics = elec.summary()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = sum(r.n_subruns * r.events_per_subrun for r in plan.runs)
        bar = tqdm(total=total, unit="ev", desc=f"synthetic night {plan.yyyymmdd}")
    try:
        for run in plan.runs:
            log.info("run %05d (%s): %d x %d events", run.run, run.run_type, run.n_subruns, run.events_per_subrun)
            generate_run(root, plan, run, elec, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    written = {"r0_dir": r0_dir(root, plan), "drive_log": write_drive_log(root, plan)}
    if night_summary:
        written["night_summary"] = write_night_summary(root, plan)
    tdir = truth_dir(root, plan)
    np.savez_compressed(tdir / "pixel_gains.npz", gain_hg=elec.gain_hg, gain_lg=elec.gain_lg)
    plan.write(tdir / "night.json")
    written["night_json"] = tdir / "night.json"
    return written
