"""Monitoring files of a synthetic night: drive log and NightSummary."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from .plan import NightPlan

#: source tracked during DATA runs (the Crab Nebula)
TARGET = {"name": "Crab", "ra_deg": 83.6331, "dec_deg": 22.0145}
DRIVE_LOG_STEP_S = 2
#: parking position outside DATA runs (camera calibration runs)
PARK = {"az_deg": 0.0, "zenith_deg": 0.0}


def drive_log_path(root: Path, yyyymmdd: str) -> Path:
    return root / "monitoring" / "DrivePositioning" / f"DrivePosition_log_{yyyymmdd}.txt"


def night_summary_path(root: Path, yyyymmdd: str) -> Path:
    return root / "monitoring" / "NightSummary" / f"NightSummary_{yyyymmdd}.txt"


def tracking_altaz(unix_times):
    """(azimuth, zenith) in degrees of TARGET seen from LST-1 at the given UTC unix times."""
    import astropy.units as u
    from astropy.coordinates import AltAz, SkyCoord
    from astropy.time import Time
    from astropy.utils import iers
    from ctapipe_io_lst.constants import LST1_LOCATION

    iers.conf.auto_download = False  # no network; bundled IERS tables are enough
    times = Time(np.asarray(unix_times, dtype=float), format="unix", scale="utc")
    frame = AltAz(obstime=times, location=LST1_LOCATION)
    altaz = SkyCoord(TARGET["ra_deg"] * u.deg, TARGET["dec_deg"] * u.deg).transform_to(frame)
    return altaz.az.to_value(u.deg), 90 - altaz.alt.to_value(u.deg)


def write_drive_log(root: Path, plan: NightPlan) -> Path:
    """``DrivePosition_log_YYYYMMDD.txt``: lines ``unix_time az zenith`` (UTC seconds,
    degrees), every DRIVE_LOG_STEP_S seconds from 1 min before the first run to 1 min
    after the last event.  Parked at zenith during DRS4/CALI runs, tracking TARGET from
    30 s before each DATA run to 30 s after its last event (and in between DATA runs)."""
    start = int(plan.runs[0].start_unix) - 60
    stop = int(max(r.last_event_unix for r in plan.runs)) + 60
    t = np.arange(start, stop + 1, DRIVE_LOG_STEP_S)
    data = [r for r in plan.runs if r.run_type == "DATA"]
    az = np.full(len(t), PARK["az_deg"])
    zen = np.full(len(t), PARK["zenith_deg"])
    if data:
        tracking = (t >= data[0].start_unix - 30) & (t <= data[-1].last_event_unix + 30)
        az[tracking], zen[tracking] = tracking_altaz(t[tracking])
    path = drive_log_path(root, plan.yyyymmdd)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for ti, a, z in zip(t, az, zen):
            f.write(f"{ti:d} {a:.6f} {z:.6f}\n")
    plan.pointing = {
        "target": TARGET, "drive_log_step_s": DRIVE_LOG_STEP_S, "park": PARK,
        "zenith_range_deg_during_data": [float(zen[tracking].min()), float(zen[tracking].max())] if data else None,
    }
    return path


def write_night_summary(root: Path, plan: NightPlan) -> Path:
    """One line per run, in the format of the on-site NightSummary (2020):
    ``run n_subruns type date time  event ucts_ns dragon_counter_ns  event ucts_ns tib_counter_ns``.

    ``event`` is the id of the first event with a valid UCTS time (ctapipe_io_lst read these
    columns as ``first_valid_event_dragon`` / ``first_valid_event_tib``), not a module: the
    text does not say which Dragon module the counter comes from (here: the central module,
    id 132, at its data index; the RunSummary conversion finds it in the raw data)."""
    lines = []
    for r in plan.runs:
        start = dt.datetime.fromtimestamp(int(r.start_unix), dt.timezone.utc)
        first = r.first_event or {}
        ucts = first.get("tai_ns", "nan")
        event = f"{first['event_id']:04d}" if "event_id" in first else "nan"
        lines.append(
            f"{r.run:05d} {r.n_subruns:4d} {r.run_type:<4s}  {start:%Y-%m-%d %H:%M:%S} "
            f"{event} {ucts} {first.get('dragon_ns', 'nan')} "
            f"{event} {ucts} {first.get('tib_ns', 'nan')}"
        )
    path = night_summary_path(root, plan.yyyymmdd)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
