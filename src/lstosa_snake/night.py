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

from .dates import parse_night_date
from .errors import ConfigError
from .nightsummary import DATA, NightSummary, find_night_summary, read_night_summary, scan_raw_files
from .paths import NightPaths
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
    return NightPaths(data_root, output_root, night, str(config["prod_id"]), str(config["calibration_version"]))


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

    def run_plan(self, run) -> RunPlan:
        return self.runs[int(run)]

    def calibration_files(self, run) -> dict[str, Path]:
        cal = self.runs[int(run)].calibration
        p = self.paths
        return {
            "drs4_pedestal": p.drs4_pedestal(cal.drs4_run, cal.date),
            "charge_calibration": p.charge_calibration(cal.cali_run, cal.date),
            "time_calibration": p.time_calibration(cal.cali_run, cal.date),
        }

    def subrun_pairs(self):
        for rp in self.runs.values():
            for s in rp.subruns:
                yield rp.run, f"{s:04d}"


def calibrations_on_disk(paths: NightPaths, night: dt.date) -> list[tuple[int, int]]:
    """(drs4, cali) pairs of an earlier night whose three calibration files all exist."""
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
        if time_cal.is_file() and time_cal.stat().st_size > 0 and before:
            found.append((before[-1], cali))
    return found


def plan_night(config: dict, base: Path, summary_path: Path | None = None) -> NightPlan:
    """Build the night's plan; ``summary_path`` overrides the look-up (e.g. a created summary)."""
    paths = night_paths(config, base)
    override = config.get("night_summary")
    if override:
        summary_path = resolve(override, base)
    elif summary_path is None:
        summary_path = find_night_summary(paths.data_root, paths.output_root, paths.night)
    if summary_path is None:
        raise ConfigError(f"no night summary for {paths.night} (and none was created)")
    summary = read_night_summary(summary_path, paths.night)
    lookback = int(config.get("calibration_lookback_nights", 4))
    sequences = build_sequences(
        summary,
        policy=config.get("calibration_policy", "closest_before"),
        find_earlier=lambda: find_earlier_calibration(
            paths.night, lookback, lambda d: calibrations_on_disk(paths, d)
        ),
        lookback_nights=lookback,
    )
    excluded_runs, excluded_subruns = parse_exclusions(config)
    failed_subruns = parse_subrun_list(config, "failed_subruns")
    raw = scan_raw_files(paths.r0_dir)
    runs: dict[int, RunPlan] = {}
    calibrations_tonight: dict[int, int] = {}
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
    return NightPlan(paths, summary, sequences, runs, sorted(excluded_runs), calibrations_tonight)


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
