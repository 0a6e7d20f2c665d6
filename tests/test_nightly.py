"""lstosa-nightly: lock, resume after a killed Snakemake, closed-night no-op, notification, failure policy.

The Snakemake tests run the real workflow (Snakefile, runner, profile) on a toy night of two DATA
runs (10 + 2 sub-runs), but with ``tools_bin`` pointing at FAKE lstchain tools
(tests/data/fake_tools/fake_lst_tool.py) that only write small stand-in product files: they test
operations, not science; the real tools are covered by the end-to-end tests. Every subprocess
runs in its own process group under a timeout and is hard-killed (SIGKILL to the group) on expiry.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from fake_tools import PROJECT, children, cron_env, make_tools_bin, make_toy_night, run_with_timeout, toy_config_args
from lstosa_snake.ops.nightly import NightLock

NIGHTLY = PROJECT / "scripts" / "lstosa-nightly"
RDIR = Path("running_analysis/20200127/v0.12")


@pytest.fixture
def toy(tmp_path):
    data = tmp_path / "data"
    make_toy_night(data)
    tools = make_tools_bin(tmp_path / "tools")
    args = ["--date", "2020-01-27", "--data-root", str(data), "--cores", "2"]
    for item in toy_config_args(tmp_path, tools):
        args += ["--config", item]
    return {"data": data, "tools": tools, "args": args, "rdir": data / RDIR, "tmp": tmp_path}



def nightly(toy, *extra, timeout=240):
    return run_with_timeout([str(NIGHTLY), *toy["args"], *extra], timeout, cwd="/", env=cron_env())



def wait_for(predicate, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_lock_is_exclusive_and_names_its_holder(tmp_path):
    first, second = NightLock(tmp_path / ".nightly.lock"), NightLock(tmp_path / ".nightly.lock")
    assert first.acquire()
    assert not second.acquire()
    assert second.holder()["pid"] == os.getpid()
    first.release()
    assert second.acquire()
    second.release()


def night_locks(data: Path) -> list[Path]:
    """Snakemake's lock files that name files below ``data``: in the night's Snakemake directory
    (<project>/.snakemake-nights/<night>/.snakemake/locks), or the project's."""
    out = []
    dirs = [PROJECT / ".snakemake" / "locks", *PROJECT.glob(".snakemake-nights/*/.snakemake/locks")]
    for p in (f for d in dirs for f in d.glob("*.output.lock")):
        try:
            if str(data) + os.sep in p.read_text():
                out.append(p)
        except FileNotFoundError:  # another worker's Snakemake ended meanwhile
            continue
    return out


def test_second_invocation_refuses_then_killed_night_resumes(toy):
    """Two concurrent invocations: the second exits 0 naming the first; Snakemake killed mid-night
    (SIGKILL, as a crash would) and the next invocation completes the night."""
    (toy["tools"] / "SLEEP").write_text("lstchain_data_r0_to_dl1 1.5\n")
    first = subprocess.Popen([str(NIGHTLY), *toy["args"]], cwd="/", env=cron_env(), start_new_session=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lock = toy["rdir"] / ".nightly.lock"
        wait_for(lambda: lock.is_file() and '"pid"' in lock.read_text(), 60, "the first invocation's lock")
        second = nightly(toy, timeout=60)
        assert second.returncode == 0, second.stdout
        assert f"being processed by PID {first.pid}" in second.stdout
        assert "nothing done" in second.stdout
        # wait until the night is under way (some sub-runs' DL1 exist), then kill Snakemake hard
        dl1 = toy["data"] / "DL1/20200127/v0.12"
        wait_for(lambda: len(list(dl1.glob("dl1_LST-1.Run01874.*.h5"))) >= 2, 120, "first DL1 files")
        smk = [c for c in children(first.pid) if "snakemake" in Path(f"/proc/{c}/cmdline").read_text()]
        assert smk, "no Snakemake child found"
        os.killpg(smk[0], signal.SIGKILL)
        out, _ = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    assert first.returncode == 5, out  # Snakemake died without failure markers: "error"
    assert not (toy["rdir"] / "NightFinished.txt").exists()
    (toy["tools"] / "SLEEP").unlink()
    # the SIGKILLed Snakemake's lock naming this night's files, in the night's own Snakemake directory (no
    # other Snakemake shares it, so it is always still there: ops/smkrun.py)
    stale = night_locks(toy["data"])
    assert len(stale) == 1 and "/.snakemake-nights/" in str(stale[0]), stale
    third = nightly(toy)
    assert third.returncode == 0, third.stdout
    assert "removed 1 stale Snakemake lock(s)" in third.stdout  # left by the SIGKILLed Snakemake
    assert not night_locks(toy["data"])
    assert "CLOSED" in third.stdout and "runs merged: 2 of 2" in third.stdout
    assert (toy["rdir"] / "NightFinished.txt").is_file()
    for run in ("01874", "01875"):
        assert (dl1 / f"dl1_LST-1.Run{run}.h5").is_file()
        assert (toy["data"] / f"DL2/20200127/v0.12/dl2_LST-1.Run{run}.h5").is_file()
    assert len(list(dl1.glob("dl1_LST-1.Run01874.*.h5"))) == 10
    logs = sorted((toy["rdir"] / "log").glob("nightly_*.log"))
    assert logs and "pass 1" in logs[-1].read_text()


def test_closed_night_is_a_noop_and_notification_has_the_summary(toy):
    notified = toy["tmp"] / "notified.txt"
    notify = f"(cat; echo STATE=$LSTOSA_STATE NIGHT=$LSTOSA_NIGHT CODE=$LSTOSA_EXIT_CODE) >> {notified}"
    first = nightly(toy, "--notify-cmd", notify)
    assert first.returncode == 0, first.stdout
    text = notified.read_text()
    assert "night 2020-01-27 prod v0.12: CLOSED" in text
    assert "runs merged: 2 of 2 (01874, 01875)" in text
    assert "STATE=closed NIGHT=2020-01-27 CODE=0" in text
    finished = toy["rdir"] / "NightFinished.txt"
    stamp = finished.stat().st_mtime_ns
    products = {p: p.stat().st_mtime_ns for p in (toy["data"] / "DL1").rglob("*.h5")}
    again = nightly(toy, "--notify-cmd", notify, timeout=120)
    assert again.returncode == 0, again.stdout
    assert "already closed" in again.stdout and "nothing done" in again.stdout
    assert finished.stat().st_mtime_ns == stamp
    assert {p: p.stat().st_mtime_ns for p in products} == products
    assert notified.read_text() == text  # no notification for a no-op


def test_run_closes_within_tolerance(toy):
    """1 of 10 sub-runs fails for good; with close_min_success_fraction 0.8 the run closes without it."""
    (toy["tools"] / "FAIL").write_text("lstchain_data_r0_to_dl1 01874.0003\n")
    res = nightly(toy, "--config", "close_min_success_fraction=0.8")
    assert res.returncode == 0, res.stdout
    assert "run 01874: 1 of 10 sub-runs failed (3)" in res.stdout
    report = json.loads((toy["rdir"] / "night_report.json").read_text())
    runs = {s["run"]: s for s in report["sequences"] if s["type"] == "DATA"}
    assert runs[1874]["failed_subruns"] == [3] and runs[1874]["processed_subruns"] == 9
    assert runs[1875]["failed_subruns"] == []
    policy = json.loads((toy["rdir"] / "failure_policy.json").read_text())
    assert policy["failed_subruns"] == ["01874.0003"] and policy["decisions"][0]["share"] == 0.9
    # the merge used the 9 good sub-runs; the decision sticks: the next invocation has nothing to do
    again = nightly(toy, "--config", "close_min_success_fraction=0.8", timeout=120)
    assert again.returncode == 0 and "already closed" in again.stdout, again.stdout


def test_run_below_threshold_stays_open_and_is_reported(toy):
    (toy["tools"] / "FAIL").write_text("lstchain_data_r0_to_dl1 01874.0003\n")
    notified = toy["tmp"] / "notified.txt"
    res = nightly(toy, "--notify-cmd", f"cat > {notified}")
    assert res.returncode == 3, res.stdout
    assert "success share 0.900 < 1: left open" in res.stdout
    assert not (toy["rdir"] / "NightFinished.txt").exists()
    assert not (toy["data"] / "DL1/20200127/v0.12/dl1_LST-1.Run01874.h5").exists()
    assert (toy["data"] / "DL1/20200127/v0.12/dl1_LST-1.Run01875.h5").exists()  # the other run is merged
    text = notified.read_text()
    assert "night 2020-01-27 prod v0.12: OPEN" in text
    assert "run 01874 left open: 3 failed" in text
    assert "r0_to_dl1 failed for run 01874 sub-run 0003" in text
    policy = json.loads((toy["rdir"] / "failure_policy.json").read_text())
    assert policy["open_runs"] == [1874] and policy["failed_subruns"] == []


@pytest.fixture
def toy_dl1b(tmp_path):
    """The toy night with the DL1b stages on (fake_tools.toy_config_args dl1b=True): run 01875's fake
    tail-cut finder reports an NSB that makes it cleaned with 10/5, run 01874 stays at 8/4."""
    data = tmp_path / "data"
    make_toy_night(data)
    tools = make_tools_bin(tmp_path / "tools")
    (tools / "NSB").write_text("01875 0.4\n")
    args = ["--date", "2020-01-27", "--data-root", str(data), "--cores", "2"]
    for item in toy_config_args(tmp_path, tools, dl1b=True):
        args += ["--config", item]
    return {"data": data, "tools": tools, "args": args, "rdir": data / RDIR, "tmp": tmp_path}


def test_dl1b_night_completes_and_dl2_is_made_from_dl1b(toy_dl1b):
    """With DL1b on, the toy night closes; each sub-run's DL2 was made from its DL1b file (the fake
    dl1_to_dl2 copies its input), cleaned with its run's finder levels and Cat-B file."""
    res = nightly(toy_dl1b)
    assert res.returncode == 0, res.stdout
    assert (toy_dl1b["rdir"] / "NightFinished.txt").is_file()
    dl1, dl2 = toy_dl1b["data"] / "DL1/20200127/v0.12", toy_dl1b["data"] / "DL2/20200127/v0.12"
    calls = (toy_dl1b["tools"] / "CALLS").read_text().splitlines()
    assert sum(c.startswith("lstchain_find_tailcuts") for c in calls) == 2
    assert sum(c.startswith("lstchain_create_cat_B_calibration_file") for c in calls) == 2
    assert sum(c.startswith("lstchain_dl1ab ") for c in calls) == 12
    for run, n, cleaning, nsb in ((1874, 10, "tailcut84", 0.1), (1875, 2, "tailcut1005", 0.4)):
        summary = json.loads((dl1 / "tailcuts" / f"tailcuts_Run{run:05d}.json").read_text())
        assert summary["finder"] and summary["dl1_prod_id"] == cleaning and summary["nsb_pe_per_ns"] == nsb
        catb = json.loads((toy_dl1b["rdir"] / "catB" / f"catB_Run{run:05d}.json").read_text())
        assert catb["file"] and Path(catb["file"]).read_text().startswith(f"fake Cat-B calibration of run {run:05d}")
        picture, boundary = (8, 4) if cleaning == "tailcut84" else (10, 5)
        for s in range(n):
            name = f"LST-1.Run{run:05d}.{s:04d}.h5"
            link = dl1 / "dl1b" / f"dl1_{name}"
            assert link.is_symlink() and link.resolve() == dl1 / cleaning / f"dl1_{name}"
            dl1b_text = link.read_text()
            assert dl1b_text == (f"fake dl1b\ninput: {dl1 / f'dl1_{name}'}\ncleaning: picture {picture} boundary "
                                 f"{boundary}\ncatB: {catb['file']}\nimages: yes\n")
            assert (dl2 / f"dl2_{name}").read_text() == f"fake dl2\nfrom: {dl1 / cleaning / f'dl1_{name}'}\n{dl1b_text}"


def test_dl1b_bad_subrun_fails_alone(toy_dl1b):
    """With DL1b on, a sub-run whose dl1ab fails for good fails alone: the run's other sub-runs get
    their DL2 from DL1b and, with close_min_success_fraction 0.8, the run closes without it."""
    (toy_dl1b["tools"] / "FAIL").write_text("lstchain_dl1ab 01874.0003\n")
    res = nightly(toy_dl1b, "--config", "close_min_success_fraction=0.8")
    assert res.returncode == 0, res.stdout
    assert "run 01874: 1 of 10 sub-runs failed (3)" in res.stdout
    dl2 = toy_dl1b["data"] / "DL2/20200127/v0.12"
    made = sorted(p.name for p in dl2.glob("dl2_LST-1.Run01874.*.h5"))
    assert made == [f"dl2_LST-1.Run01874.{s:04d}.h5" for s in range(10) if s != 3]
    assert all((dl2 / m).read_text().startswith("fake dl2\n") for m in made)
    calls = (toy_dl1b["tools"] / "CALLS").read_text().splitlines()
    # the bad sub-run's chain was retried (dl1ab has retries), no other sub-run's r0_to_dl1 ran twice
    assert calls.count("lstchain_dl1ab dl1_LST-1.Run01874.0003.h5") >= 2
    r0 = [c for c in calls if c.startswith("lstchain_data_r0_to_dl1 ")]
    assert len(r0) == len(set(r0)) == 12


def test_dl1b_failed_r0_to_dl1_holds_its_run_until_the_closing_pass(toy_dl1b):
    """With DL1b on, a sub-run whose r0_to_dl1 fails for good does not fail alone in the first pass:
    the run's tail-cut finder needs all of its DL1a files, so none of the run's sub-runs gets DL1b or
    DL2 until lstosa-nightly's closing pass (close_min_success_fraction 0.8) runs the finder on the 9
    good sub-runs; the other run is not held. (Without DL1b the 9 get their DL2 in the first pass.)"""
    (toy_dl1b["tools"] / "FAIL").write_text("lstchain_data_r0_to_dl1 01874.0003\n")
    res = nightly(toy_dl1b, "--config", "close_min_success_fraction=0.8")
    assert res.returncode == 0, res.stdout
    assert "closed without failed sub-runs: 01874.0003" in res.stdout
    assert "pass 2 (closing runs without their failed sub-runs): dl1ab done (9 jobs)" in res.stdout, res.stdout
    dl1, dl2 = toy_dl1b["data"] / "DL1/20200127/v0.12", toy_dl1b["data"] / "DL2/20200127/v0.12"
    log = (dl1 / "tailcuts" / "log_find_tailcuts_Run01874.log").read_text()
    assert "9 DL1 sub-run files of run 01874" in log
    made = sorted(p.name for p in dl2.glob("dl2_LST-1.Run01874.*.h5"))
    assert made == [f"dl2_LST-1.Run01874.{s:04d}.h5" for s in range(10) if s != 3]
    assert all((dl2 / m).read_text().startswith("fake dl2\n") for m in made)
