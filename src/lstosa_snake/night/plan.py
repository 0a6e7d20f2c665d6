"""The plan of a night: from the configuration and the night summary to the jobs to run.

This is what the Snakefile evaluates at parse time, so it stays cheap: one read of the summary,
one listing of the R0 directory, and a handful of ``stat`` calls for borrowed calibrations.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from lstosa_snake.core.errors import ConfigError, LstosaError

from .calibration_lookup import CalibrationLookup
from .input_state import CATA_CALIBRATED, STATES, InputStateError, NightState, night_state
from .dates import compact, parse_night_date
from .nightsummary import (
    CALI,
    DATA,
    CatalogEntry,
    NightSummary,
    Run,
    find_night_summary,
    read_night_summary,
    read_run_catalog,
    scan_raw_files,
)
from .paths import NightPaths
from .rf_models import run_models_dir
from .sequencing import Calibration, Sequence, build_sequences, find_earlier_calibration

log = logging.getLogger(__name__)


def resolve(path, base: Path) -> Path:
    """Config paths are relative to the project directory unless absolute."""
    p = Path(str(path)).expanduser()
    return p if p.is_absolute() else (base / p)


def night_paths(config: dict, base: Path) -> NightPaths:
    night = parse_night_date(config.get("date"))
    data_root = resolve(config["data_root"], base)
    output_root = resolve(config.get("output_root") or data_root, base)
    return NightPaths(data_root, output_root, night, str(config["prod_id"]), str(config["calibration_version"]),
                      52 if config.get("calibration_filters") is None else int(config["calibration_filters"]))


_SUBRUN_SPEC = re.compile(r"^\s*(\d{1,5})\.(\d{1,4})\s*$")


def parse_subrun_list(config: dict, key: str) -> set[tuple[int, int]]:
    """``["01874.0003", "1874.4"]`` -> {(1874, 3), (1874, 4)}."""
    subruns = set()
    for item in config.get(key) or []:
        m = _SUBRUN_SPEC.match(str(item))
        if not m:
            raise ConfigError(f"{key}: {item!r} is not RUN.SUBRUN (e.g. 01874.0003)")
        subruns.add((int(m.group(1)), int(m.group(2))))
    return subruns


def parse_exclusions(config: dict) -> tuple[set[int], set[tuple[int, int]]]:
    """``exclude_runs: [1875]`` and ``exclude_subruns: ["01874.0003", "1874.4"]``."""
    runs = set()
    for item in config.get("exclude_runs") or []:
        try:
            runs.add(int(item))
        except (TypeError, ValueError):
            raise ConfigError(f"exclude_runs: {item!r} is not a run number") from None
    return runs, parse_subrun_list(config, "exclude_subruns")


@dataclass
class RunPlan:
    """A DATA run: the sub-runs to process and why others are left out."""

    run_id: int
    n_subruns: int
    calibration: Calibration
    subruns: list[int]
    excluded: list[int] = field(default_factory=list)
    missing_raw: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def run(self) -> str:
        return f"{self.run_id:05d}"


@dataclass
class NightPlan:
    paths: NightPaths
    summary: NightSummary
    sequences: list[Sequence]
    runs: dict[int, RunPlan]
    excluded_runs: list[int]
    calibrations_tonight: dict[int, int]  # cali run -> its DRS4 run, produced tonight
    #: DATA runs listed in the summary without a single raw file (not "excluded": nobody chose that)
    missing_raw_runs: list[int] = field(default_factory=list)
    #: calibration sequences of the night that serve no run (not produced)
    unused_calibrations: list[Calibration] = field(default_factory=list)
    #: run -> source, from the night's RunCatalog (empty without one)
    catalog: dict[int, CatalogEntry] = field(default_factory=dict)
    #: cali run -> (R0 directory, RunSummary) when its raw data is from an earlier night
    earlier_cali_inputs: dict[int, tuple[Path, Path]] = field(default_factory=dict)

    def run_plan(self, run) -> RunPlan:
        return self.runs[int(run)]

    def calibration_files(self, run) -> dict[str, Path]:
        cal = self.runs[int(run)].calibration
        p = self.paths
        files = {
            "drs4_pedestal": p.drs4_pedestal(cal.drs4_run, cal.date),
            "charge_calibration": p.charge_calibration(cal.cali_run, cal.date),
            "time_calibration": p.time_calibration(cal.cali_run, cal.date),
        }
        if self.calibration_lookup is not None:  # LSTOSA's looked-up time calibration / F-factor systematics
            files.update(self.calibration_lookup.files(cal.cali_run, cal.date))
        return files

    def cali_r0_dir(self, cali_run) -> Path:
        """Where the CALI run's raw files are: tonight's R0 directory or an earlier night's."""
        entry = self.earlier_cali_inputs.get(int(cali_run))
        return entry[0] if entry else self.paths.r0_dir

    @property
    def calibration_only(self) -> bool:
        """Calibration runs but no DATA run to process: the night only calibrates."""
        return bool(self.calibrations_tonight) and not self.runs

    def subrun_pairs(self):
        for rp in self.runs.values():
            for s in rp.subruns:
                yield rp.run, f"{s:04d}"

    #: looked-up calibration files (calibration_lookup.py); None: all computed from the night's runs
    calibration_lookup: CalibrationLookup | None = None
    #: the state of the night's raw data (input_state.py); gain_selected when not determined
    input_state: NightState = field(default_factory=lambda: NightState("gain_selected", "assumed"))

    def r0_for_dl1(self, run, subrun, stream: int = 1) -> Path:
        """The raw file r0_to_dl1 reads: the gain-selected copy on a legacy_raw night (R0G), else R0."""
        p = self.paths
        return p.r0g(run, subrun, stream) if self.input_state.needs_gain_selection else p.r0(run, subrun, stream)

    #: the configured models_dir (None: not configured)
    models_root: Path | None = None
    _models_dirs: dict = field(default_factory=dict, repr=False)

    def models_dir(self, run) -> Path:
        """RF models of a DATA run: models_root, or its declination line closest to the run's
        pointing (RunCatalog, else drive log) when it has dec_* sub-directories (rf_models.py)."""
        run_id = int(run)
        if self.models_root is None:
            raise ConfigError("models_dir is not configured")
        if run_id not in self._models_dirs:
            self._models_dirs[run_id] = run_models_dir(
                self.models_root, run_id, self.catalog, self.summary.runs, self.paths.pointing_file)
        return self._models_dirs[run_id]


def calibrations_on_disk(paths: NightPaths, night: dt.date, time_calibration_needed: bool = True) -> list[tuple[int, int]]:
    """(drs4, cali) pairs of an earlier night whose three calibration files all exist (two when the
    time calibration is looked up: then that night made none)."""
    found = []
    cal_dir = paths.charge_calibration(0, night).parent
    drs4_dir = paths.drs4_pedestal(0, night).parent
    if not cal_dir.is_dir() or not drs4_dir.is_dir():
        return found
    drs4_runs = sorted(
        int(m.group(1))
        for f in drs4_dir.iterdir()
        if (m := re.match(r"drs4_pedestal\.Run(\d{5})\.0000\.h5$", f.name)) and f.stat().st_size > 0
    )
    for f in sorted(cal_dir.iterdir()):
        m = re.match(r"calibration_filters_\d+\.Run(\d{5})\.0000\.h5$", f.name)
        if not m or f.stat().st_size == 0:
            continue
        cali = int(m.group(1))
        time_cal = paths.time_calibration(cali, night)
        before = [d for d in drs4_runs if d < cali]
        after = [d for d in drs4_runs if d > cali]
        drs4 = before[-1] if before else (after[0] if after else None)  # run numbers order data taking
        has_time_cal = not time_calibration_needed or (time_cal.is_file() and time_cal.stat().st_size > 0)
        if has_time_cal and drs4 is not None:
            found.append((drs4, cali))
    return found


def earlier_cali_run(
    paths: NightPaths, lookback: int, merged: Path | None
) -> tuple[Run, dt.date, Path] | None:
    """The last CALI run of the most recent earlier night (within ``lookback``) that has one with raw
    files and a RunSummary ECSV (the calibration tools read it): (run, its night, its RunSummary).

    Earlier nights' rows are taken as listed (their start times are not checked against the night).
    """
    for back in range(1, lookback + 1):
        night = paths.night - dt.timedelta(days=back)
        found = find_night_summary(paths.data_root, paths.output_root, night, merged)
        if found is None:
            continue
        try:
            summary = read_night_summary(found, night, check_dates=False)
        except LstosaError as exc:
            log.warning("earlier night %s: %s", night, exc)
            continue
        calis = sorted(summary.by_type(CALI), key=lambda r: r.run_id)
        if not calis:
            continue
        cali = calis[-1]
        r0_dir = paths.data_root / "R0" / compact(night)
        if summary.fmt != "ecsv":
            log.warning("earlier night %s: PEDCALIB %05d is listed in %s, which is not a RunSummary ECSV "
                        "the calibration tools can read; looking for its finished files instead",
                        night, cali.run_id, found)
            return None
        if not all((r0_dir / f"LST-1.{s}.Run{cali.run_id:05d}.0000.fits.fz").is_file() for s in (1, 2, 3, 4)):
            log.warning("earlier night %s: PEDCALIB %05d has no raw files in %s; looking for its finished "
                        "calibration files instead", night, cali.run_id, r0_dir)
            return None
        return cali, night, Path(found)
    return None


def plan_night(config: dict, base: Path, summary_path: Path | None = None, check_runs: bool = True,
               known_state: str | None = None) -> NightPlan:
    """Build the night's plan; ``summary_path`` overrides the look-up (e.g. a created summary).

    ``check_runs=False``: the input state is read from one DATA run only; ``known_state``: the state the main
    Snakemake read (``STATE,`` or ``STATE,evbv5``), for the jobs it starts, which then read no raw file."""
    paths = night_paths(config, base)
    merged = resolve(config["merged_summary"], base) if config.get("merged_summary") else None
    override = config.get("night_summary")
    if override:
        summary_path = resolve(override, base)
    elif summary_path is None:
        summary_path = find_night_summary(paths.data_root, paths.output_root, paths.night, merged)
    if summary_path is None:
        raise ConfigError(f"no night summary for {paths.night} (and none was created)")
    summary = read_night_summary(summary_path, paths.night)
    lookback = int(config.get("calibration_lookback_nights", 4))
    policy = config.get("calibration_policy", "closest_before")
    earlier_cali: dict[int, tuple[Path, Path]] = {}
    lookup = CalibrationLookup.from_config(config, paths, base)
    time_cal_needed = lookup is None or not lookup.time_calibration

    def find_earlier_cali():
        found = earlier_cali_run(paths, lookback, merged)
        if found is None:
            return None
        cali, night, run_summary = found
        earlier_cali[cali.run_id] = (paths.data_root / "R0" / compact(night), run_summary)
        return cali, night

    sequences = build_sequences(
        summary,
        policy=policy,
        find_earlier=lambda: find_earlier_calibration(
            paths.night, lookback, lambda d: calibrations_on_disk(paths, d, time_cal_needed)
        ),
        lookback_nights=lookback,
        find_earlier_cali=find_earlier_cali,
    )
    excluded_runs, excluded_subruns = parse_exclusions(config)
    failed_subruns = parse_subrun_list(config, "failed_subruns")
    raw = scan_raw_files(paths.r0_dir)
    runs: dict[int, RunPlan] = {}
    calibrations_tonight: dict[int, int] = {}
    missing_raw_runs: list[int] = []
    for seq in sequences:
        cal = seq.calibration
        if seq.kind != DATA:
            continue
        run = seq.run
        if run.run_id in excluded_runs:
            continue
        keep, excluded, missing, failed = [], [], [], []
        for s in range(run.n_subruns):
            if (run.run_id, s) in excluded_subruns:
                excluded.append(s)
            elif (run.run_id, s) in failed_subruns:
                failed.append(s)
            elif raw.get((run.run_id, s)) != {1, 2, 3, 4}:
                missing.append(s)
            else:
                keep.append(s)
        if not keep and missing and not any((run.run_id, s) in raw for s in range(run.n_subruns)):
            log.warning("run %05d: listed in %s but no raw file of it is in %s: missing raw data",
                        run.run_id, summary.path, paths.r0_dir)
            missing_raw_runs.append(run.run_id)
            continue
        if missing:
            log.warning(
                "run %05d: raw files missing for %d sub-run(s) %s in %s; they are left out",
                run.run_id, len(missing), _ranges(missing), paths.r0_dir,
            )
        if not keep:
            log.warning("run %05d: no sub-run to process", run.run_id)
            continue
        runs[run.run_id] = RunPlan(run.run_id, run.n_subruns, cal, keep, excluded, missing, failed)
        if not cal.borrowed:
            calibrations_tonight[cal.cali_run] = cal.drs4_run
    name, _, fmt = (known_state or "").partition(",")
    if name in STATES and (config.get("input_state") or "auto") == "auto":
        state = NightState(name, "raw files", evbv5=fmt == "evbv5")
    else:
        state = night_state(str(config.get("input_state") or "auto"),
                            {r: paths.r0(r, rp.subruns[0]) for r, rp in runs.items()}, first_only=not check_runs)
    if state.state == CATA_CALIBRATED and runs:
        raise InputStateError(
            f"{state.describe()}: waveforms calibrated to photo-electrons by the event builder are not processed"
            " by this workflow yet (no calibration sequence for them): process the night with LSTOSA")
    calibrations = [seq.calibration for seq in sequences if seq.kind != DATA]
    if calibrations and not summary.by_type(DATA):
        # A calibration-only night calibrates (its last pair) so that later nights can borrow it.
        last = max(calibrations, key=lambda c: c.cali_run)
        calibrations_tonight[last.cali_run] = last.drs4_run
    unused = [c for c in calibrations if calibrations_tonight.get(c.cali_run) != c.drs4_run]
    catalog = read_run_catalog(paths.data_root / "monitoring" / "RunCatalog" / f"RunCatalog_{paths.date}.ecsv")
    return NightPlan(
        paths, summary, sequences, runs, sorted(excluded_runs), calibrations_tonight,
        missing_raw_runs=missing_raw_runs, unused_calibrations=unused, catalog=catalog,
        earlier_cali_inputs={c: v for c, v in earlier_cali.items() if c in calibrations_tonight},
        calibration_lookup=lookup,
        models_root=resolve(config["models_dir"], base) if config.get("models_dir") else None,
        input_state=state,
    )


def _ranges(values: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3,7' for short log lines."""
    out, start, prev = [], None, None
    for v in sorted(values):
        if start is None:
            start = prev = v
        elif v == prev + 1:
            prev = v
        else:
            out.append(f"{start}-{prev}" if start != prev else f"{start}")
            start = prev = v
    if start is not None:
        out.append(f"{start}-{prev}" if start != prev else f"{start}")
    return ",".join(out)
