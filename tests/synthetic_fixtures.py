"""Fixtures for the synthetic-night tests: a small generated night and the real
lstchain calibration + r0_to_dl1 chain run on it.

Everything that needs numpy/ctapipe/lstchain runs in the tools' environment
(``.venv-lst``) through subprocesses; these fixtures only need the standard library.
"""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LST_BIN = Path(os.environ.get("LSTOSA_LST_BIN", REPO / ".venv-lst" / "bin"))
LST_PYTHON = LST_BIN / "python"
CONFIG_DIR = REPO / "config" / "lstchain"

#: small night: enough events for the tools, few enough for a 2-core machine
SMALL_NIGHT = dict(date="2020-01-27", seed=3, first_run=2001, data_runs=1, subruns=2,
                   events_per_subrun=120, drs4_events=500, cali_events=600)
YYYYMMDD = SMALL_NIGHT["date"].replace("-", "")


def lst_tool(name: str) -> str:
    return str(LST_BIN / name)


def run_tool(args, log: Path | None = None, check=True, timeout=900, cwd=None):
    """Run a command of the tools' environment; stdout+stderr go to ``log`` (returned)."""
    proc = subprocess.run(
        [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=timeout, cwd=cwd, env={**os.environ, "MPLBACKEND": "Agg"},
    )
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(proc.stdout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({proc.returncode}):\n{proc.stdout[-4000:]}")
    return proc


def make_night(root: Path, **overrides) -> Path:
    p = {**SMALL_NIGHT, **overrides}
    run_tool([
        lst_tool("lstosa-make-night"), "--output", root, "--date", p["date"], "--seed", p["seed"],
        "--first-run", p["first_run"], "--data-runs", p["data_runs"], "--subruns", p["subruns"],
        "--events-per-subrun", p["events_per_subrun"], "--drs4-events", p["drs4_events"],
        "--cali-events", p["cali_events"], "--no-progress",
    ], log=root / "make_night.log")
    return root


@dataclass
class Night:
    root: Path
    yyyymmdd: str = YYYYMMDD
    paths: dict = field(default_factory=dict)

    @property
    def r0(self) -> Path:
        return self.root / "R0" / self.yyyymmdd

    @property
    def truth(self) -> Path:
        return self.root / "synthetic_truth" / self.yyyymmdd

    @property
    def plan(self) -> dict:
        return json.loads((self.truth / "night.json").read_text())

    def runs(self, run_type: str):
        return [r for r in self.plan["runs"] if r["run_type"] == run_type]


def _need_tools():
    if not (LST_BIN / "lstchain_data_r0_to_dl1").exists():
        pytest.skip(f"lstchain tools not installed in {LST_BIN} (run scripts/setup.sh)")


@pytest.fixture(scope="session")
def synthetic_night(tmp_path_factory) -> Night:
    """A small synthetic night (DRS4, calibration and one DATA run of 2 sub-runs)."""
    _need_tools()
    root = make_night(tmp_path_factory.mktemp("synthetic_night"))
    return Night(root)


@pytest.fixture(scope="session")
def calibrated_night(synthetic_night: Night) -> Night:
    """The real chain on the small night: run summary, DRS4 pedestal, time calibration,
    charge calibration, r0_to_dl1 of every DATA sub-run."""
    n = synthetic_night
    out = n.root / "chain"
    logs = out / "logs"
    plan = n.plan
    drs4 = next(r for r in plan["runs"] if r["run_type"] == "DRS4")["run"]
    cali = next(r for r in plan["runs"] if r["run_type"] == "CALI")["run"]
    p = {
        "run_summary": out / "RunSummary" / f"RunSummary_{n.yyyymmdd}.ecsv",
        "drs4": out / "calib" / f"drs4_pedestal.Run{drs4:05d}.0000.h5",
        "time_calibration": out / "calib" / f"time_calibration.Run{cali:05d}.0000.h5",
        "calibration": out / "calib" / f"calibration_filters_52.Run{cali:05d}.0000.h5",
        "dl1_dir": out / "DL1",
        "logs": logs,
    }
    for d in (p["run_summary"].parent, p["drs4"].parent, p["dl1_dir"]):
        d.mkdir(parents=True, exist_ok=True)
    run_tool([lst_tool("lstosa-create-run-summary"), "-d", n.yyyymmdd, "--r0-path", n.root / "R0",
              "-o", p["run_summary"].parent], log=logs / "run_summary.log")
    run_tool([lst_tool("lstchain_create_drs4_pedestal_file"), "--input", n.r0 / f"LST-1.1.Run{drs4:05d}.0000.fits.fz",
              "--output", p["drs4"], "--overwrite", "--no-progress"], log=logs / "drs4.log")
    cali_r0 = n.r0 / f"LST-1.1.Run{cali:05d}.0000.fits.fz"
    run_tool([lst_tool("lstosa-create-time-calibration"), "--input-file", cali_r0, "--output-file", p["time_calibration"],
              "--pedestal-file", p["drs4"], "--run-summary-path", p["run_summary"],
              "--config", CONFIG_DIR / "time_calibration.json", "--no-progress"], log=logs / "time_calibration.log")
    run_tool([lst_tool("lstchain_create_calibration_file"), "--input_file", cali_r0, "--output_file", p["calibration"],
              "--pedestal_file", p["drs4"], "--time_calibration_file", p["time_calibration"],
              "--run_summary_file", p["run_summary"], "--config", CONFIG_DIR / "calibration.json"],
             log=logs / "charge_calibration.log")
    drive_log = n.root / "monitoring" / "DrivePositioning" / f"DrivePosition_log_{n.yyyymmdd}.txt"
    for run in n.runs("DATA"):
        for subrun in range(run["n_subruns"]):
            tag = f"{run['run']:05d}.{subrun:04d}"
            run_tool([lst_tool("lstchain_data_r0_to_dl1"), "-f", n.r0 / f"LST-1.1.Run{tag}.fits.fz", "-o", p["dl1_dir"],
                      "-p", p["drs4"], "--calibration-file", p["calibration"],
                      "--time-calibration-file", p["time_calibration"], "--pointing-file", drive_log,
                      "-r", p["run_summary"], "-c", CONFIG_DIR / "lstchain_config.json"],
                     log=logs / f"r0_to_dl1.{tag}.log")
    n.paths = p
    return n
