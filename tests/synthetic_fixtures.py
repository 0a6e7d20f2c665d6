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

from tiers import require_or_skip

from lstosa_snake.jobs.runner import tool_environment

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
        timeout=timeout, cwd=cwd, env=tool_environment(),  # as the workflow runs them: astropy offline
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
        "--cali-events", p["cali_events"], "--no-progress", "--input-state", p.get("input_state", "gain_selected"),
        "--data-format", p.get("data_format", "CTAR1"),
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
        require_or_skip(f"lstchain tools not installed in {LST_BIN} (run scripts/setup.sh)", tier="tools")


@pytest.fixture(scope="session")
def synthetic_night(tmp_path_factory) -> Night:
    """A small synthetic night (DRS4, calibration and one DATA run of 2 sub-runs)."""
    _need_tools()
    root = make_night(tmp_path_factory.mktemp("synthetic_night"))
    return Night(root)


@pytest.fixture(scope="session")
def calibrated_night(local_night, tmp_path_factory) -> Night:
    """The real calibration + r0_to_dl1 chain on a small synthetic night: the products of the
    end-to-end workflow run (``local_night`` in e2e_fixtures.py), so the chain runs once per test
    session; plus lstchain's run summary made from the raw files, for the classification test."""
    n = Night(local_night.data_root)
    plan = n.plan
    drs4 = next(r for r in plan["runs"] if r["run_type"] == "DRS4")["run"]
    cali = next(r for r in plan["runs"] if r["run_type"] == "CALI")["run"]
    cat_a = n.root / "monitoring" / "PixelCalibration" / "Cat-A"
    version = "v0.12.3"
    out = n.root / "chain"
    p = {
        "run_summary": out / "RunSummary" / f"RunSummary_{n.yyyymmdd}.ecsv",
        "drs4": cat_a / "drs4_baseline" / n.yyyymmdd / version / f"drs4_pedestal.Run{drs4:05d}.0000.h5",
        "time_calibration": cat_a / "drs4_time_sampling_from_FF" / n.yyyymmdd / version
        / f"time_calibration.Run{cali:05d}.0000.h5",
        "calibration": cat_a / "calibration" / n.yyyymmdd / version / f"calibration_filters_52.Run{cali:05d}.0000.h5",
        "dl1_dir": n.root / "DL1" / n.yyyymmdd / "v0.12",
        "time_calibration_log": n.root / "running_analysis" / n.yyyymmdd / "calibration" / version / "log"
        / f"time_calibration.Run{cali:05d}.log",
        "logs": out / "logs",
    }
    from e2e_fixtures import across_workers  # noqa: PLC0415 (e2e_fixtures imports this module)

    with across_workers(tmp_path_factory, "run_summary"):  # once, whichever worker comes first
        if not p["run_summary"].exists():
            p["run_summary"].parent.mkdir(parents=True, exist_ok=True)
            run_tool([lst_tool("lstosa-create-run-summary"), "-d", n.yyyymmdd, "--r0-path", n.root / "R0",
                      "-o", p["run_summary"].parent], log=p["logs"] / "run_summary.log")
    n.paths = p
    return n
