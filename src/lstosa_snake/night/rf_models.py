"""Random-forest models by declination, as LSTOSA's ``get_RF_model`` (osa/utils/utils.py).

The all-sky MC is trained along declination lines; a models directory then holds one sub-directory
per line, ``dec_2276`` (+22.76 deg) or ``dec_min_413`` (-4.13 deg). A run uses the line closest to
its pointing declination, with LSTOSA's culmination rule: unless the pointing lies between the two
lines closest to the site's latitude, a line whose culmination zenith angle |lat - dec| is larger
than the pointing's is dropped for the next closest (the MC must reach the smallest zenith angle
the run can have). A models directory without ``dec_*`` sub-directories is used as it is.

The pointing declination comes from the RunCatalog (``source_dec`` is the pointing's, as LSTOSA
notes) or, failing that, from the drive log ``DrivePosition_log_YYYYMMDD.txt`` (lines
``unix_time azimuth zenith`` in degrees, as ctapipe_io_lst reads it): the declination of an alt/az
direction does not depend on time, so no sidereal time or astropy is needed.

Not done (LSTOSA does it): the choice among NSB-tuned productions (``nsb_tuning_X``), which needs
the tail-cut finder's NSB estimate.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import re
from pathlib import Path

from lstosa_snake.core.errors import ConfigError

log = logging.getLogger(__name__)

#: latitude of LST-1, degrees (ctapipe_io_lst.constants.LST1_LOCATION)
LST1_LATITUDE_DEG = 28.76152611

_DEC_DIR = re.compile(r"^dec_(min_)?(\d{3,4})$")


class ModelChoiceError(ConfigError):
    """No models directory can be chosen for a run (names the run and directory)."""


def subdirs_by_name(root: Path, pattern: re.Pattern, value) -> dict[float, Path]:
    """value(match) -> directory, for the sub-directories of ``root`` whose name ``pattern`` finds
    (``search``); empty when ``root`` does not exist."""
    out = {}
    try:
        entries = sorted(Path(root).iterdir())
    except FileNotFoundError:
        return out
    for entry in entries:
        m = pattern.search(entry.name)
        if m and entry.is_dir():
            out[value(m)] = entry
    return out


def dec_lines(models_dir: Path) -> dict[float, Path]:
    """Declination (deg) -> sub-directory for every ``dec_NNNN``/``dec_min_NNNN`` directory."""
    return subdirs_by_name(models_dir, _DEC_DIR, lambda m: (-1 if m.group(1) else 1) * int(m.group(2)) / 100)


def culmination_angle(dec_deg: float, latitude_deg: float = LST1_LATITUDE_DEG) -> float:
    """Zenith angle (deg) of a declination at culmination."""
    return abs(latitude_deg - dec_deg)


def choose_dec_line(lines: list[float], dec_deg: float, latitude_deg: float = LST1_LATITUDE_DEG) -> float:
    """The declination line for a pointing at ``dec_deg`` (LSTOSA's rule, see the module docstring).
    Ties go to the lower line, so that the choice does not depend on directory order."""
    if not lines:
        raise ValueError("no declination lines")
    candidates = sorted(lines)

    def closest(values):
        return min(values, key=lambda x: (abs(x - dec_deg), x))

    chosen = closest(candidates)
    near_latitude = sorted(sorted(candidates, key=lambda x: (abs(x - latitude_deg), x))[:2])
    if dec_deg < near_latitude[0] or dec_deg > near_latitude[-1]:
        pointing_culmination = culmination_angle(dec_deg, latitude_deg)
        while culmination_angle(chosen, latitude_deg) > pointing_culmination:
            candidates.remove(chosen)
            if not candidates:
                raise ValueError(f"no declination line culminates at or below {pointing_culmination:.2f} deg zenith")
            chosen = closest(candidates)
    return chosen


def choose_models_dir(models_dir: Path, dec_deg: float | None, run: int | None = None,
                      latitude_deg: float = LST1_LATITUDE_DEG) -> Path:
    """The models for a run pointing at ``dec_deg``: ``models_dir`` itself when it has no
    ``dec_*`` sub-directories, else the sub-directory of the chosen declination line."""
    models_dir = Path(models_dir)
    lines = dec_lines(models_dir)
    if not lines:
        return models_dir
    what = f"run {int(run):05d}" if run is not None else "the run"
    if dec_deg is None or not math.isfinite(dec_deg):
        raise ModelChoiceError(
            f"{what}: pointing declination unknown (no RunCatalog entry and no drive-log position), "
            f"needed to choose among the declination lines in {models_dir}"
        )
    try:
        return lines[choose_dec_line(list(lines), dec_deg, latitude_deg)]
    except ValueError as exc:
        raise ModelChoiceError(f"{what} (dec {dec_deg:.2f} deg): {exc} in {models_dir}") from None


def altaz_to_dec(azimuth_deg: float, zenith_deg: float, latitude_deg: float = LST1_LATITUDE_DEG) -> float:
    """Declination (deg) of a horizontal direction, azimuth from North through East."""
    alt, az, lat = (math.radians(v) for v in (90.0 - zenith_deg, azimuth_deg, latitude_deg))
    sin_dec = math.sin(alt) * math.sin(lat) + math.cos(alt) * math.cos(lat) * math.cos(az)
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_dec))))


def read_drive_log(path: Path) -> list[tuple[float, float, float]]:
    """``(unix_time, azimuth, zenith)`` rows of a DrivePosition log; rows with time 0 (invalid,
    as lstchain's run-summary merge drops them) and unreadable lines are skipped."""
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3:
                continue
            try:
                t, az, zen = float(parts[0]), float(parts[1]), float(parts[2])
            except ValueError:
                continue
            if t > 0:
                rows.append((t, az, zen))
    return rows


def drive_log_dec(rows: list[tuple[float, float, float]], start: dt.datetime, end: dt.datetime | None = None,
                  tolerance_s: float = 60.0, latitude_deg: float = LST1_LATITUDE_DEG) -> float | None:
    """Pointing declination of a run from drive-log rows: the median over the rows between its
    start and ``end`` (the slew to a next target is outside), else the row nearest the start
    within ``tolerance_s``; None if the log does not cover the run."""
    t0 = start.timestamp() if start.tzinfo else start.replace(tzinfo=dt.timezone.utc).timestamp()
    if end is None:
        t1 = t0 + 20 * 60  # a typical LST run
    else:
        t1 = end.timestamp() if end.tzinfo else end.replace(tzinfo=dt.timezone.utc).timestamp()
    decs = sorted(altaz_to_dec(az, zen, latitude_deg) for t, az, zen in rows if t0 <= t < t1)
    if decs:
        n = len(decs)
        return decs[n // 2] if n % 2 else 0.5 * (decs[n // 2 - 1] + decs[n // 2])
    near = [(abs(t - t0), az, zen) for t, az, zen in rows if abs(t - t0) <= tolerance_s]
    if near:
        _, az, zen = min(near)
        return altaz_to_dec(az, zen, latitude_deg)
    return None


@functools.lru_cache(maxsize=4)
def _drive_rows(path: str, mtime_ns: int) -> tuple:
    return tuple(read_drive_log(Path(path)))


def run_pointing_dec(run_id: int, catalog: dict, runs, drive_log: Path | None) -> tuple[float | None, str]:
    """(declination, where from) of a run: its RunCatalog ``source_dec``, else the drive log over
    the run (from its start to the next run's start in ``runs``, the night summary's runs)."""
    entry = catalog.get(int(run_id)) if catalog else None
    dec = getattr(entry, "source_dec", None)
    if dec is not None and math.isfinite(dec):
        return float(dec), "RunCatalog"
    if drive_log is None or not Path(drive_log).is_file():
        return None, "no RunCatalog entry, no drive log"
    starts = sorted((r.start, r.run_id) for r in runs if getattr(r, "start", None) is not None)
    start = next((s for s, r in starts if r == int(run_id)), None)
    if start is None:
        return None, "no RunCatalog entry, no run start time for the drive log"
    end = next((s for s, r in starts if s > start), None)
    rows = _drive_rows(str(drive_log), Path(drive_log).stat().st_mtime_ns)
    dec = drive_log_dec(list(rows), start, end)
    if dec is None:
        return None, f"no RunCatalog entry; drive log {drive_log} does not cover the run's start {start}"
    return dec, f"drive log {drive_log}"


def run_models_dir(models_root: Path, run_id: int, catalog: dict, runs, drive_log: Path | None) -> Path:
    """The models directory of a run (see the module docstring); the pointing is only looked for
    when ``models_root`` has declination lines."""
    models_root = Path(models_root)
    if not dec_lines(models_root):
        return models_root
    dec, source = run_pointing_dec(run_id, catalog, runs, drive_log)
    if dec is None:
        raise ModelChoiceError(f"run {int(run_id):05d}: pointing declination unknown ({source}), needed to "
                               f"choose among the declination lines in {models_root}")
    chosen = choose_models_dir(models_root, dec, run=run_id)
    log.info("run %05d: pointing dec %.2f deg (%s) -> models %s", int(run_id), dec, source, chosen)
    return chosen
