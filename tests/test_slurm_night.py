"""The synthetic night through the SLURM profile on the real cluster, with the real tools.

Its DL1/DL2 products must be identical in content to the local run's (``local_night``), and the
sub-run chains must be packed into group jobs (few sbatch calls).
"""

import json
import subprocess

import pytest

from e2e_fixtures import night_config
from slurm_fixtures import REPO, run_snakemake
from synthetic_fixtures import LST_PYTHON

pytestmark = [pytest.mark.slurm, pytest.mark.e2e, pytest.mark.tools]

DATE, PROD = "20200127", "v0.1"
DL1 = "dl1/event/telescope/parameters/LST_LSTCam"
DL2 = "dl2/event/telescope/parameters/LST_LSTCam"


def digest(path, key):
    out = subprocess.run([str(LST_PYTHON), str(REPO / "tests" / "h5_probe.py"), "--digest", str(path), key],
                         capture_output=True, text=True, check=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_slurm_night_matches_local(local_night, slurm_cluster, sbatch_spy, tmp_path):
    out_root = tmp_path / "slurm_products"
    work = tmp_path / "work"
    work.mkdir()
    args = ["--snakefile", REPO / "Snakefile", "--directory", work, "--profile", REPO / "profiles" / "slurm",
            *night_config(local_night.data_root, local_night.models, [f"output_root={out_root}"])]
    res = run_snakemake(args, cwd=work, timeout=2400, env=sbatch_spy.env())
    assert res.returncode == 0, str(res)

    plan = json.loads((local_night.data_root / "synthetic_truth" / DATE / "night.json").read_text())
    runs = [r["run"] for r in plan["runs"] if r["run_type"] == "DATA"]
    for run in runs:
        for level, key in (("DL1", DL1), ("DL2", DL2)):
            name = f"{level.lower()}_LST-1.Run{run:05d}.h5"
            local = digest(local_night.product(level, DATE, PROD, name), key)
            slurm = digest(out_root / level / DATE / PROD / name, key)
            assert local["rows"] > 0
            assert slurm == local, f"{name} differs between the local and the SLURM run"

    # Submission economy: each sub-run's chain (r0_to_dl1, dl1_datacheck, dl1_to_dl2) is grouped,
    # so it costs at most one sbatch call instead of three (publish_datacheck and all are local).
    calls = sbatch_spy.calls()
    n_jobs = int(res.output.split("Job stats:")[1].split("total")[1].split()[0])
    n_chains = sum(r["n_subruns"] for r in plan["runs"] if r["run_type"] == "DATA") - 1  # one excluded
    assert 0 < len(calls) <= n_jobs - 2 - 2 * n_chains
    finished = out_root / "running_analysis" / DATE / PROD / "NightFinished.txt"
    assert finished.read_text().startswith("night 2020-01-27 closed")
