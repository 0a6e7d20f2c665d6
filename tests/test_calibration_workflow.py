"""The looked-up calibration files and per-run RF models in the workflow's commands (dry runs with
printed shell commands; no tool runs), and the plan's per-run choices."""

import datetime as dt
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from lstosa_snake.night.nightsummary import Run, NightSummary, TimeReference
from lstosa_snake.night.plan import plan_night
from lstosa_snake.night.rf_models import LST1_LATITUDE_DEG
from lstosa_snake.night.summary_writer import write_night_summary_text

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
NIGHT = dt.date(2020, 1, 27)
START_1875 = dt.datetime(2020, 1, 27, 21, 10, tzinfo=dt.timezone.utc)
CAT_A = Path("monitoring/PixelCalibration/Cat-A")


def write_night(data: Path):
    """DRS4 1872, CALI 1873, DATA 1874 (in the RunCatalog, dec 22.08) and 1875 (not in it; the
    drive log points it north of zenith at dec 45.0), two sub-runs each, empty raw stand-ins."""
    ref = TimeReference(3, 1580157904186709543, 5186709300)
    t0 = dt.datetime(2020, 1, 27, 20, 30)
    runs = (Run(1872, 1, "DRS4", t0), Run(1873, 1, "CALI", t0 + dt.timedelta(minutes=5)),
            Run(1874, 2, "DATA", t0 + dt.timedelta(minutes=14), ref, ref),
            Run(1875, 2, "DATA", START_1875.replace(tzinfo=None), ref, ref))
    r0 = data / "R0" / "20200127"
    r0.mkdir(parents=True)
    for run in runs:
        for s in range(run.n_subruns):
            for stream in (1, 2, 3, 4):
                (r0 / f"LST-1.{stream}.Run{run.run_id:05d}.{s:04d}.fits.fz").touch()
    ns = data / "monitoring" / "NightSummary" / "NightSummary_20200127.txt"
    ns.parent.mkdir(parents=True)
    ns.write_text(write_night_summary_text(NightSummary(NIGHT, runs)))
    cat = data / "monitoring" / "RunCatalog" / "RunCatalog_20200127.ecsv"
    cat.parent.mkdir(parents=True)
    cat.write_text(
        "# %ECSV 1.0\n# ---\n# datatype:\n# - {name: run_id, datatype: int32}\n"
        "# - {name: source_name, datatype: string}\n# - {name: source_ra, datatype: float64}\n"
        "# - {name: source_dec, datatype: float64}\n# delimiter: ','\n# schema: astropy-2.0\n"
        "run_id,source_name,source_ra,source_dec\n1874,Crab,83.543,22.08\n"
    )
    drive = data / "monitoring" / "DrivePositioning" / "DrivePosition_log_20200127.txt"
    drive.parent.mkdir(parents=True)
    u = int(START_1875.timestamp())
    zenith = 45.0 - LST1_LATITUDE_DEG  # on the meridian, north of zenith: dec = lat + zenith
    drive.write_text("".join(f"{u - 60 + 2 * i} 0.000000 {zenith:.6f}\n" for i in range(300)))
    # LSTOSA's "pro" files (its conftest layout, on this night's scale)
    for date, run in (("20191124", 1625), ("20200120", 1850), ("20200201", 1900)):
        d = data / CAT_A / "drs4_time_sampling_from_FF" / date / "pro"
        d.mkdir(parents=True)
        (d / f"time_calibration.Run{run:05d}.0000.h5").touch()
    for date in ("20200110", "20200725"):
        d = data / CAT_A / "ffactor_systematics" / date / "pro"
        d.mkdir(parents=True)
        (d / f"ffactor_systematics_{date}.h5").touch()


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    root = tmp_path_factory.mktemp("lookup_night")
    write_night(root / "data")
    models = root / "models"
    for line in ("dec_2276", "dec_4822", "dec_min_413"):
        (models / line).mkdir(parents=True)
    cfg = root / "lstchain.json"
    cfg.write_text("{}")
    config = {"date": "2020-01-27", "data_root": str(root / "data"), "models_dir": str(models),
              "lstchain_config": str(cfg), "calibration_config": str(cfg), "time_calibration_config": str(cfg),
              "prod_id": "v0.12", "calibration_version": "v0.12.3", "tools_bin": ".venv-lst/bin"}
    return root, config


def snakemake(config: dict, *args, timeout=300):
    items = [f"{k}={v}" for k, v in config.items()]
    cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(ROOT), "-n", "-p",
           "--cores", "1", *args, "--config", *items]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def commands(output: str, tool: str) -> list[list[str]]:
    """The printed shell commands that run ``tool``, as argument lists."""
    return [shlex.split(line.strip()) for line in output.splitlines() if f"/{tool} " in line]


def option(args: list[str], name: str) -> str | None:
    for i, a in enumerate(args):
        if a == name:
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def test_plan_lookup_and_models(night):
    root, config = night
    data = Path(config["data_root"])
    plan = plan_night({**config, "time_calibration": "lookup", "ffactor_systematics": "lookup"}, ROOT)
    files = plan.calibration_files(1874)
    assert files["time_calibration"] == data / CAT_A / "drs4_time_sampling_from_FF/20200120/pro/time_calibration.Run01850.0000.h5"
    assert files["ffactor_systematics"] == data / CAT_A / "ffactor_systematics/20200110/pro/ffactor_systematics_20200110.h5"
    assert files["drs4_pedestal"].name == "drs4_pedestal.Run01872.0000.h5"
    assert plan.models_dir(1874) == Path(config["models_dir"]) / "dec_2276"  # RunCatalog 22.08
    assert plan.models_dir(1875) == Path(config["models_dir"]) / "dec_4822"  # drive log 45.0
    default = plan_night(config, ROOT)
    assert default.calibration_lookup is None
    assert default.calibration_files(1874)["time_calibration"].name == "time_calibration.Run01873.0000.h5"
    assert "ffactor_systematics" not in default.calibration_files(1874)


def test_dry_run_lookup_mode_commands(night):
    root, config = night
    data = Path(config["data_root"])
    res = snakemake({**config, "time_calibration": "lookup", "ffactor_systematics": "lookup"})
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout
    time_file = str(data / CAT_A / "drs4_time_sampling_from_FF/20200120/pro/time_calibration.Run01850.0000.h5")
    sys_file = str(data / CAT_A / "ffactor_systematics/20200110/pro/ffactor_systematics_20200110.h5")
    assert not re.search(r"^\s*rule time_calibration:", out, re.M)  # looked up, not computed
    assert "lstosa-create-time-calibration" not in out
    (charge,) = commands(out, "lstchain_create_calibration_file")
    assert option(charge, "--LSTEventSource.LSTR0Corrections.drs4_time_calibration_path") == time_file
    assert option(charge, "--LSTCalibrationCalculator.systematic_correction_path") == sys_file
    r0_to_dl1 = commands(out, "lstchain_data_r0_to_dl1")
    assert len(r0_to_dl1) == 4
    for args in r0_to_dl1:
        assert option(args, "--time-calibration-file") == time_file
        assert option(args, "--systematic-correction-file") == sys_file
    models = {option(a, "--input-file").rsplit(".Run", 1)[1][:5]: option(a, "--path-models")
              for a in commands(out, "lstchain_dl1_to_dl2")}
    assert models == {"01874": str(Path(config["models_dir"]) / "dec_2276"),
                      "01875": str(Path(config["models_dir"]) / "dec_4822")}


def test_dry_run_default_computes_and_has_no_systematics(night):
    root, config = night
    res = snakemake(config)
    assert res.returncode == 0, res.stderr[-3000:]
    assert re.search(r"^\s*rule time_calibration:", res.stdout, re.M)
    assert "--systematic-correction-file" not in res.stdout and "systematic_correction_path" not in res.stdout
    (charge,) = commands(res.stdout, "lstchain_create_calibration_file")
    assert option(charge, "--LSTEventSource.LSTR0Corrections.drs4_time_calibration_path").endswith(
        "/20200127/v0.12.3/time_calibration.Run01873.0000.h5")


@pytest.mark.parametrize("extra, message", [
    ({"time_calibration": "lookup", "calibration_lookup_version": "v9"},
     "no time calibration file of version 'v9' for a run at or before PEDCALIB run 01873"),
    ({"ffactor_systematics": "/nonexistent/sys.h5"}, "ffactor_systematics: /nonexistent/sys.h5 is not a file"),
    ({"time_calibration": "sometimes"}, "invalid configuration"),
])
def test_dry_run_lookup_errors_are_one_line(night, extra, message):
    root, config = night
    res = snakemake({**config, **extra})
    assert res.returncode != 0
    errors = [line for line in res.stderr.splitlines() if "lstosa-snake: ERROR" in line]
    assert len(errors) == 1 and message in errors[0], res.stderr[-2000:]
    assert "Traceback" not in res.stderr


def test_dry_run_unknown_pointing_names_the_run(night, tmp_path):
    root, config = night
    drive = Path(config["data_root"]) / "monitoring" / "DrivePositioning" / "DrivePosition_log_20200127.txt"
    saved = drive.read_text()
    drive.write_text("")  # run 1875 is not in the RunCatalog: nothing tells its pointing
    try:
        res = snakemake(config)
    finally:
        drive.write_text(saved)
    errors = [line for line in res.stderr.splitlines() if "lstosa-snake: ERROR" in line]
    assert res.returncode != 0 and len(errors) == 1, res.stderr[-2000:]
    assert "run 01875: pointing declination unknown (no RunCatalog entry; drive log" in errors[0]
    assert "does not cover the run's start 2020-01-27 21:10:00" in errors[0] and config["models_dir"] in errors[0]
