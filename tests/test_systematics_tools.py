"""Looked-up calibration files with the real tools: the workflow's charge_calibration and r0_to_dl1
jobs on a tiny synthetic night, with a "pro" time calibration and a synthetic F-factor systematics
file looked up as LSTOSA does.

The charge calibration must apply lstchain's correction ``gain = (var_FF - var_ped) / (F2 * S)
- B**2 * S / F2`` with the file's B term (checked against the file's own flat-field and pedestal
statistics), and r0_to_dl1 must be configured with the file (its configuration is stored in
the DL1 file)."""

import json
import shutil
import subprocess

import pytest

from slurm_fixtures import REPO, run_snakemake
from synthetic_fixtures import LST_PYTHON, _need_tools, make_night, run_tool

pytestmark = pytest.mark.tools

B_TERM = 0.02  # camera mean of the synthetic B term: a ~2.6 % gain correction at 80 p.e.

PROBE = r"""
import json, sys
import h5py, numpy as np, tables

cal_path, sys_path, dl1_path = sys.argv[1:4]
with tables.open_file(cal_path) as f:  # PyTables: the tables are blosc-compressed
    ff, ped, c = (f.get_node(f"/tel_1/{k}")[0] for k in ("flatfield", "pedestal", "calibration"))
with h5py.File(sys_path, "r") as f:
    b = np.array(f["B_term"])
f2 = 1.222
signal = np.asarray(ff["charge_median"]) - np.asarray(ped["charge_median"])
gain0 = (np.asarray(ff["charge_std"]) ** 2 - np.asarray(ped["charge_std"]) ** 2) / (f2 * signal)
gain = gain0 - b ** 2 * signal / f2
good = ~np.asarray(c["unusable_pixels"])
n_pe = np.asarray(c["n_pe"])
out = {
    "good_pixels": int(good.sum()),
    "max_rel_dev_with_b": float(np.max(np.abs(n_pe[good] / (signal / gain)[good] - 1))),
    "median_rel_dev_without_b": float(np.median(n_pe[good] / (signal / gain0)[good] - 1)),
}
with tables.open_file(dl1_path) as f:
    node = f.get_node("/dl1/event/telescope/parameters/LST_LSTCam")
    config = json.loads(node.attrs["config"])
out["dl1_systematics"] = config["LSTCalibrationCalculator"].get("systematic_correction_path")
print(json.dumps(out))
"""


def test_charge_calibration_and_r0_to_dl1_use_the_looked_up_files(tmp_path):
    _need_tools()
    data = make_night(tmp_path / "data", data_runs=1, subruns=1, events_per_subrun=60)
    night = json.loads((data / "synthetic_truth" / "20200127" / "night.json").read_text())
    cali = next(r["run"] for r in night["runs"] if r["run_type"] == "CALI")
    run = next(r["run"] for r in night["runs"] if r["run_type"] == "DATA")
    # the file LSTOSA would pick for the night: latest at or before it (a later one is ignored)
    out = run_tool([LST_PYTHON, "-m", "lstosa_snake.synthetic.ffactor", "--root", data, "--date", "20200101",
                    "--b-term", B_TERM])
    sys_file = out.stdout.strip().splitlines()[-1]
    run_tool([LST_PYTHON, "-m", "lstosa_snake.synthetic.ffactor", "--root", data, "--date", "20200301",
              "--b-term", 0.5])
    models = tmp_path / "models"
    models.mkdir()  # DL2 is not asked for
    cat_a = data / "monitoring" / "PixelCalibration" / "Cat-A"
    cal_file = cat_a / "calibration" / "20200127" / "v0.12.3" / f"calibration_filters_52.Run{cali:05d}.0000.h5"
    dl1_file = data / "DL1" / "20200127" / "v0.12" / f"dl1_LST-1.Run{run:05d}.0000.h5"
    smk = ["--snakefile", REPO / "Snakefile", "--directory", REPO, "--cores", "2"]
    config = ["--config", "date=2020-01-27", f"data_root={data}", f"models_dir={models}"]

    # The calibration team's "pro" time calibration, stood in for by the workflow's own (computed
    # mode) filed under an earlier night and run; empty decoys around it would crash the tools.
    time_dir = cat_a / "drs4_time_sampling_from_FF"
    computed = time_dir / "20200127" / "v0.12.3" / f"time_calibration.Run{cali:05d}.0000.h5"
    res = run_snakemake(smk + [computed] + config, cwd=tmp_path, timeout=600, log_name="compute.log")
    assert res.returncode == 0, res.text[-4000:]
    pro = time_dir / "20200120" / "pro" / f"time_calibration.Run{cali - 5:05d}.0000.h5"
    for decoy in (time_dir / "20191124" / "pro" / "time_calibration.Run01625.0000.h5",
                  time_dir / "20200201" / "pro" / f"time_calibration.Run{cali + 100:05d}.0000.h5"):
        decoy.parent.mkdir(parents=True)
        decoy.touch()
    pro.parent.mkdir(parents=True)
    shutil.move(computed, pro)

    res = run_snakemake(smk + [cal_file, dl1_file] + config + ["time_calibration=lookup", "ffactor_systematics=lookup"],
                        cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.text[-4000:]
    assert not computed.exists()  # looked up, not made again

    charge_log = (data / "running_analysis" / "20200127" / "calibration" / "v0.12.3" / "log"
                  / f"charge_calibration.Run{cali:05d}.log").read_text()
    assert f"--LSTEventSource.LSTR0Corrections.drs4_time_calibration_path={pro}" in charge_log
    assert f"--LSTCalibrationCalculator.systematic_correction_path={sys_file}" in charge_log
    r0_log = (data / "running_analysis" / "20200127" / "v0.12" / "log" / "r0_to_dl1"
              / f"r0_to_dl1.Run{run:05d}.0000.log").read_text()
    assert f"--time-calibration-file {pro}" in r0_log and f"--systematic-correction-file={sys_file}" in r0_log
    probe = subprocess.run([str(LST_PYTHON), "-c", PROBE, str(cal_file), sys_file, str(dl1_file)],
                           capture_output=True, text=True, timeout=300, check=True)
    facts = json.loads(probe.stdout)
    assert facts["good_pixels"] > 0.97 * 2 * 1855  # both gain channels
    # n_pe is exactly lstchain's B-corrected formula with this file's B term ...
    assert facts["max_rel_dev_with_b"] < 1e-4
    # ... and not the uncorrected one: B^2 * n_pe / F2 ~ 0.0004 * 80 / 1.222 ~ 2.6 % fewer p.e. per ADC
    assert 0.015 < facts["median_rel_dev_without_b"] < 0.04
    assert facts["dl1_systematics"] == sys_file
