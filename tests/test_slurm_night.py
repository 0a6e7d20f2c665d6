"""The synthetic night through the SLURM profile on the real cluster, with the real tools.

Its DL1/DL2 products must be identical in content to the local run's (``local_night``); every job
runs within the memory it asks for (the test cluster kills a job above its request); every sub-run's
jobs are SLURM jobs of their own, named after the rule, run and sub-run.
"""

import json
import re
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

    # One sbatch per sub-run chain (its three rules in one job, named after the sub-run) and per other
    # job that is not a local bookkeeping rule
    calls = sbatch_spy.calls()
    n_jobs = int(res.output.split("Job stats:")[1].split("total")[1].split()[0])
    local = sum(res.output.count(f"localrule {r}:") for r in ("all", "run_summary_ecsv", "run_plots", "close_night",
                                                              "night_page", "publish_datacheck"))
    subruns = [f"{r['run']:05d}.{s:04d}" for r in plan["runs"] if r["run_type"] == "DATA"
               for s in range(r["n_subruns"]) if f"{r['run']:05d}.{s:04d}" != "02004.0001"]
    assert len(calls) == n_jobs - local - 2 * len(subruns), (len(calls), n_jobs, local)
    for sub in subruns:
        run, subrun = sub.split(".")
        assert sum(f"--job-name subrun_chain.Run{run}.{subrun}" in c for c in calls) == 1, sub
    assert not re.search(r"FAILED|OUT_OF_MEMORY", res.output), "a job failed (e.g. killed above its memory request)"
    finished = out_root / "running_analysis" / DATE / PROD / "NightFinished.txt"
    assert finished.read_text().startswith("night 2020-01-27 closed")
