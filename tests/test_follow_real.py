"""The follow mode on the real tools: the e2e night replayed as data taking writes it, processed by
lstosa-follow while it lands, then closed by lstosa-nightly, gives the same tables as the same night
processed in one go (``local_night``) — and the morning redoes nothing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from e2e_fixtures import EXCLUDED
from fake_tools import run_with_timeout
from test_slurm_night import DL1, DL2, digest

pytestmark = [pytest.mark.e2e, pytest.mark.tools]

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATE, PROD = "20200127", "v0.12"


def test_follow_then_morning_equals_one_go(local_night, tmp_path):
    src, data = local_night.data_root, tmp_path / "data"
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    replay = subprocess.run([str(BIN / "lstosa-replay"), "--source", str(src), "--data-root", str(data), "--date",
                             "2020-01-27", "--subrun-seconds", "1", "--run-gap", "1"], capture_output=True, text=True,
                            env=env, timeout=600)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    # the drive log came with the replay; no summary did: the follow mode makes it from the raw files
    assert not (data / "monitoring" / "NightSummary").exists()
    common = ["--date", "2020-01-27", "--data-root", str(data), "--cores", "2",
              "--config", f"models_dir={local_night.models}", "--config", f'exclude_subruns=["{EXCLUDED}"]']
    follow = run_with_timeout([str(BIN / "lstosa-follow"), *common, "--cycle", "3", "--run-end-quiet", "5",
                               "--night-end-quiet", "10", "--night-end", "2099-01-01T00:00", "--no-handover"],
                              1800, cwd=REPO, env=env)
    assert follow.returncode == 0, follow.stdout[-4000:]
    state = json.loads((data / "running_analysis" / DATE / PROD / "follow" / "state.json").read_text())
    plan = json.loads((src / "synthetic_truth" / DATE / "night.json").read_text())
    runs = [r["run"] for r in plan["runs"] if r["run_type"] == "DATA"]
    assert all(state["run_states"][str(r)]["state"] == "done" for r in runs), state["run_states"]
    dl1 = data / "DL1" / DATE / PROD
    before = {p.name: p.stat().st_mtime_ns for p in dl1.glob("dl1_LST-1.Run*.*.h5")}
    assert len(before) == sum(r["n_subruns"] for r in plan["runs"] if r["run_type"] == "DATA") - 1  # one excluded

    morning = run_with_timeout([str(BIN / "lstosa-nightly"), *common], 1800, cwd=REPO, env=env)
    assert morning.returncode == 0, morning.stdout[-4000:]
    assert (data / "running_analysis" / DATE / PROD / "NightFinished.txt").is_file()
    assert {p.name: p.stat().st_mtime_ns for p in dl1.glob("dl1_LST-1.Run*.*.h5")} == before, "the morning redid sub-runs"
    for run in runs:
        for level, key in (("DL1", DL1), ("DL2", DL2)):
            name = f"{level.lower()}_LST-1.Run{run:05d}.h5"
            one_go = digest(local_night.product(level, DATE, PROD, name), key)
            followed = digest(data / level / DATE / PROD / name, key)
            assert one_go["rows"] > 0
            assert followed == one_go, f"{name}: the follow mode's table differs from the one-go run's"
