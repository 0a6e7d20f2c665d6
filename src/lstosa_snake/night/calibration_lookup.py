"""Calibration files made elsewhere and looked up, as LSTOSA does today.

LSTOSA (``osa.paths.sequence_calibration_files``, with lstchain's ``onsite`` helpers) does not
produce two of the files a DATA run needs; the calibration team puts them in the data tree:

* the DRS4 **time calibration** (``drs4_time_sampling_from_FF``): the file of the latest run at or
  before the PEDCALIB (CALI) run, ``Cat-A/drs4_time_sampling_from_FF/<YYYYMMDD>/pro/
  time_calibration.RunNNNNN.0000.h5`` (lstchain ``find_time_calibration_file``);
* the **F-factor systematics** (``ffactor_systematics``): the file of the latest date at or before
  the night, ``Cat-A/ffactor_systematics/<YYYYMMDD>/pro/ffactor_systematics_<YYYYMMDD>.h5``; when
  every file is newer than the night, the oldest one (lstchain ``find_systematics_correction_file``).
  Its quadratic "B term" corrects the F-factor gain of the charge calibration
  (``LSTCalibrationCalculator.systematic_correction_path``) and of r0_to_dl1's interleaved
  calibration updates (``--systematic-correction-file``).

The configuration chooses (config/config.yaml): ``time_calibration: compute`` (made from the
night's CALI run, the default) or ``lookup``; ``ffactor_systematics: null`` (not applied),
``lookup`` or the path of a file; ``calibration_lookup_version`` (LSTOSA: ``pro``).
Lookups are cached per plan and cost a few directory listings (they run at parse time).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from lstosa_snake.core.errors import ConfigError

from .dates import compact
from .paths import NightPaths, check_id

log = logging.getLogger(__name__)

TIME_CALIBRATION_KIND = "drs4_time_sampling_from_FF"
SYSTEMATICS_KIND = "ffactor_systematics"
TIME_CALIBRATION_MODES = ("compute", "lookup")

_DATE_DIR = re.compile(r"^\d{8}$")
_TIME_FILE = re.compile(r"^time_calibration\.Run(\d{5,})\.0000\.h5$")


class CalibrationLookupError(ConfigError):
    """A calibration file to look up is not in the data tree (names the directory and run/night)."""


def _date_dirs(base: Path) -> list[str]:
    """YYYYMMDD sub-directory names of ``base``, newest first."""
    try:
        names = [e.name for e in base.iterdir() if _DATE_DIR.match(e.name) and e.is_dir()]
    except FileNotFoundError:
        return []
    return sorted(names, reverse=True)


def find_time_calibration(base: Path, pedcal_run: int, version: str = "pro",
                          not_after: dt.date | None = None) -> Path:
    """The time calibration of the highest run <= ``pedcal_run`` below
    ``base/<YYYYMMDD>/<version>/``, e.g. base = ``.../Cat-A/drs4_time_sampling_from_FF``.

    ``not_after`` (the PEDCALIB run's night) skips later date directories: run numbers grow with
    time, so they cannot hold an earlier run, and a reprocessing of an old night then lists a
    handful of directories instead of every night since.
    """
    base = Path(base)
    limit = compact(not_after) if not_after else None
    for date in _date_dirs(base):
        if limit and date > limit:
            continue
        directory = base / date / version
        try:
            runs = [int(m.group(1)) for e in directory.iterdir() if (m := _TIME_FILE.match(e.name))]
        except (FileNotFoundError, NotADirectoryError):
            continue
        before = [r for r in runs if r <= int(pedcal_run)]
        if before:
            return directory / f"time_calibration.Run{max(before):05d}.0000.h5"
    raise CalibrationLookupError(
        f"no time calibration file of version {version!r} for a run at or before PEDCALIB run "
        f"{int(pedcal_run):05d} in {base}/<YYYYMMDD>/{version}/ (time_calibration: lookup)"
    )


def find_ffactor_systematics(base: Path, night: dt.date, version: str = "pro") -> Path:
    """The F-factor systematics file of the latest date <= ``night`` below
    ``base/<YYYYMMDD>/<version>/``; if all are later, the oldest (as lstchain does)."""
    base = Path(base)
    dates = [d for d in _date_dirs(base)
             if (base / d / version / f"ffactor_systematics_{d}.h5").is_file()]
    if not dates:
        raise CalibrationLookupError(
            f"no F-factor systematics file of version {version!r} in {base}/<YYYYMMDD>/{version}/"
            f"ffactor_systematics_<YYYYMMDD>.h5 (ffactor_systematics: lookup)"
        )
    night_dir = compact(night)
    chosen = next((d for d in dates if d <= night_dir), None)
    if chosen is None:
        chosen = dates[-1]
        log.warning("no F-factor systematics file at or before %s in %s: using the oldest, %s",
                    night_dir, base, chosen)
    return base / chosen / version / f"ffactor_systematics_{chosen}.h5"


@dataclass
class CalibrationLookup:
    """The looked-up calibration files of a night's plan (see the module docstring)."""

    paths: NightPaths
    time_calibration: bool = False  # True: looked up, not computed from the night's CALI run
    systematics: str | Path | None = None  # None, "lookup" or an explicit file
    version: str = "pro"
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, config: dict, paths: NightPaths, base: Path) -> "CalibrationLookup | None":
        """None when nothing is looked up (the default): the plan is then as before."""
        mode = config.get("time_calibration") or "compute"
        if mode not in TIME_CALIBRATION_MODES:
            raise ConfigError(f"time_calibration: {mode!r} is not one of {', '.join(TIME_CALIBRATION_MODES)}")
        systematics = config.get("ffactor_systematics") or None
        if systematics is not None and systematics != "lookup":
            p = Path(str(systematics)).expanduser()
            systematics = p if p.is_absolute() else base / p
            if not systematics.is_file():
                raise ConfigError(f"ffactor_systematics: {systematics} is not a file")
        if mode == "compute" and systematics is None:
            return None
        version = check_id(str(config.get("calibration_lookup_version") or "pro"), "calibration_lookup_version")
        return cls(paths, time_calibration=mode == "lookup", systematics=systematics, version=version)

    def time_calibration_file(self, pedcal_run: int, night: dt.date | None = None) -> Path:
        key = ("time", int(pedcal_run))
        if key not in self._cache:
            self._cache[key] = find_time_calibration(
                self.paths.catA_lookup_dir(TIME_CALIBRATION_KIND), pedcal_run, self.version,
                not_after=night,
            )
        return self._cache[key]

    def systematics_file(self) -> Path | None:
        """The night's F-factor systematics file (LSTOSA: one per night, for every run)."""
        if self.systematics != "lookup":
            return self.systematics
        if "systematics" not in self._cache:
            self._cache["systematics"] = find_ffactor_systematics(
                self.paths.catA_lookup_dir(SYSTEMATICS_KIND), self.paths.night, self.version
            )
        return self._cache["systematics"]

    def systematics_inputs(self) -> list[str]:
        """[] or [the F-factor systematics file], as a rule's input."""
        found = self.systematics_file()
        return [str(found)] if found else []

    def files(self, pedcal_run: int, night: dt.date | None = None) -> dict[str, Path]:
        """What replaces/adds to a run's calibration files: ``time_calibration`` (lookup mode)
        and ``ffactor_systematics`` (when configured)."""
        out = {}
        if self.time_calibration:
            out["time_calibration"] = self.time_calibration_file(pedcal_run, night)
        sys_file = self.systematics_file()
        if sys_file is not None:
            out["ffactor_systematics"] = Path(sys_file)
        return out


def systematics_option(option: str):
    """A Snakemake params function: ``option=FILE`` when the job has an ``ffactor_systematics``
    input (a list from the calibration rule, a string from the unpacked calibration files of
    r0_to_dl1), else nothing."""

    def value(wildcards, input):
        files = input.get("ffactor_systematics")
        if not files:
            return ""
        return f"{option}={shlex.quote(str(files if isinstance(files, str) else files[0]))}"

    return value
