"""lstosa-follow through profiles/slurm on the real cluster (fake tools): the sub-runs of a night being
replayed go out as SLURM jobs while it lands, and the morning's lstosa-nightly only closes the night."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fake_tools import NIGHT, PROJECT, make_tools_bin, make_toy_night, run_with_timeout, toy_config_args
from slurm_fixtures import SLURM_PROFILE
from test_slurm_scale import WIDE, calls

pytestmark = pytest.mark.slurm

BIN = Path(sys.executable).parent


def test_follow_on_slurm(slurm_cluster, tmp_path):
    src = tmp_path / "src"
    make_toy_night(src, runs={1874: 4, 1875: 2}, with_summary=False)
    data = tmp_path / "data"
    tools = make_tools_bin(tmp_path / "tools")
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    common = ["--date", str(NIGHT), "--data-root", str(data), "--profile", str(SLURM_PROFILE), WIDE,
              *[a for item in toy_config_args(tmp_path, tools) for a in ("--config", item)]]
    replayer = subprocess.Popen([str(BIN / "lstosa-replay"), "--source", str(src), "--data-root", str(data),
                                 "--date", str(NIGHT), "--subrun-seconds", "1", "--run-gap", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        res = run_with_timeout([str(BIN / "lstosa-follow"), *common, "--cycle", "3", "--run-end-quiet", "6",
                                "--night-end-quiet", "15", "--night-end", "2099-01-01T00:00", "--no-handover"],
                               900, cwd=PROJECT, env=env)
    finally:
        replayer.communicate(timeout=120)
    assert res.returncode == 0, res.stdout[-3000:]
    follow_dir = data / "running_analysis" / "20200127" / "v0.12" / "follow"
    state = json.loads((follow_dir / "state.json").read_text())
    assert state["run_states"]["1874"]["state"] == state["run_states"]["1875"]["state"] == "done"
    logs = "".join(p.read_text() for p in follow_dir.glob("snakemake.cycle*.log"))
    ids = re.findall(r"submitted with SLURM jobid (\d+)", logs)
    assert ids, "no SLURM job was submitted"
    names = subprocess.run(["sacct", "-n", "-X", "-P", "-j", ",".join(ids), "-o", "JobName%60,State"],
                           capture_output=True, text=True, check=True, timeout=60).stdout.split()
    chains = [n for n in names if n.startswith("subrun_chain.Run0187")]
    assert len(chains) == 6 and all("|COMPLETED" in n for n in chains), names
    before = calls(tools, "lstchain_data_r0_to_dl1")
    assert before == {f"0187{r}.{s:04d}": 1 for r, n in ((4, 4), (5, 2)) for s in range(n)}
    morning = run_with_timeout([str(BIN / "lstosa-nightly"), *common], 900, cwd=PROJECT, env=env)
    assert morning.returncode == 0, morning.stdout[-3000:]
    assert calls(tools, "lstchain_data_r0_to_dl1") == before
    assert (data / "running_analysis" / "20200127" / "v0.12" / "NightFinished.txt").is_file()
