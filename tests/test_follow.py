"""In-night processing: which raw files are complete, the replay, and lstosa-follow on a toy night
(fake tools: the operation layer; the real tools in benchmarks/follow_bench.py and its smoke test)."""

import datetime as dt
from types import SimpleNamespace
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lstosa_snake.ops.smkrun import night_snakemake_dir
from fake_tools import NIGHT, make_tools_bin, make_toy_night, run_with_timeout, toy_config_args

from lstosa_snake.follow.follower import nightly_args, summary_runs
from lstosa_snake.follow.summary import render
from lstosa_snake.night.nightsummary import parse_run_summary_ecsv
from lstosa_snake.follow.rawwatch import RawWatch
from lstosa_snake.follow.replay import replay

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def touch(r0: Path, run: int, subrun: int, streams=(1, 2, 3, 4), data=b"x"):
    r0.mkdir(parents=True, exist_ok=True)
    for k in streams:
        with open(r0 / f"LST-1.{k}.Run{run:05d}.{subrun:04d}.fits.fz", "ab") as fh:
            fh.write(data)


# --------------------------------------------------------------------------- rawwatch


def test_subrun_complete_only_when_every_stream_moved_on(tmp_path):
    w = RawWatch(tmp_path, quiet_s=100)
    touch(tmp_path, 1874, 0)
    w.look(0)
    assert w.runs[1874].complete_subruns() == []  # still being written
    touch(tmp_path, 1874, 1, streams=(1, 2, 3))  # stream 4 has not moved on yet
    w.look(1)
    assert w.runs[1874].complete_subruns() == []
    touch(tmp_path, 1874, 1, streams=(4,))
    w.look(2)
    assert w.runs[1874].complete_subruns() == [0]
    assert not w.runs[1874].ended


def test_run_ends_when_the_next_run_started_and_it_stopped_growing(tmp_path):
    w = RawWatch(tmp_path, quiet_s=100)
    touch(tmp_path, 1874, 0)
    touch(tmp_path, 1874, 1)
    w.look(0)
    touch(tmp_path, 1875, 0)
    touch(tmp_path, 1874, 1)  # 1874's last sub-run still grew in this look
    w.look(1)
    assert not w.runs[1874].ended
    w.look(2)
    assert w.runs[1874].ended and w.runs[1874].complete_subruns() == [0, 1]
    assert not w.runs[1875].ended


def test_run_ends_after_quiet_time_or_night_end(tmp_path):
    w = RawWatch(tmp_path, quiet_s=30)
    touch(tmp_path, 1874, 0)
    w.look(0)
    assert not w.look(29) and not w.runs[1874].ended  # nothing changed: an idle look says so
    assert w.look(30) and w.runs[1874].ended
    touch(tmp_path, 1880, 0)
    w.look(31)
    w.look(32, night_over=True)
    assert w.runs[1880].ended


def test_state_survives_a_restart(tmp_path):
    w = RawWatch(tmp_path, quiet_s=30)
    touch(tmp_path, 1874, 0)
    w.look(0)
    w.look(40)
    again = RawWatch(tmp_path, quiet_s=30)
    again.restore(json.loads(json.dumps(w.state())))
    again.restore_files()
    assert not again.look(41)  # same files: no change, the run stays ended
    assert again.runs[1874].ended and again.runs[1874].complete_subruns() == [0]


# --------------------------------------------------------------------------- replay


def test_replay_writes_growing_files_and_nothing_is_complete_early(tmp_path):
    """While the replay writes, every sub-run the watcher calls complete is byte-identical to the source."""
    src = tmp_path / "src"
    src.mkdir()
    rng = random.Random(1)
    for run, n in ((1874, 3), (1875, 2)):
        for s in range(n):
            for k in (1, 2, 3, 4):
                (src / f"LST-1.{k}.Run{run:05d}.{s:04d}.fits.fz").write_bytes(rng.randbytes(2880 * rng.randint(1, 4)))
    dst = tmp_path / "R0"
    seen_partial, wrong, complete_seen = [], [], set()
    stop = threading.Event()

    def watch():
        w = RawWatch(dst, quiet_s=1e9)
        while not stop.is_set():
            w.look(time.time())
            for run, view in w.runs.items():
                for s in view.complete_subruns():
                    complete_seen.add((run, s))
                    for k in (1, 2, 3, 4):
                        name = f"LST-1.{k}.Run{run:05d}.{s:04d}.fits.fz"
                        if (dst / name).read_bytes() != (src / name).read_bytes():
                            wrong.append(name)
                for (s, k), size in view.files.items():
                    if size < (src / f"LST-1.{k}.Run{run:05d}.{s:04d}.fits.fz").stat().st_size:
                        seen_partial.append((run, s, k))
            time.sleep(0.005)

    t = threading.Thread(target=watch)
    t.start()
    try:
        assert replay(src, dst, subrun_seconds=0.2, run_gap=0.1, chunks=4, say=lambda _: None) == 20
    finally:
        stop.set()
        t.join()
    assert not wrong
    assert seen_partial, "the watcher never saw a file being written"
    assert {(1874, 0), (1874, 1), (1875, 0)} <= complete_seen
    for f in src.iterdir():
        assert (dst / f.name).read_bytes() == f.read_bytes()
    with pytest.raises(FileExistsError, match="raw data is never overwritten"):
        replay(src, dst, 0, 0, say=lambda _: None)
    assert replay(src, dst, 0, 0, resume=True, say=lambda _: None) == 0


# --------------------------------------------------------------------------- summary and targets


ROWS = {
    1872: {"run_id": 1872, "run_type": "DRS4", "run_start": 1580157000000000000},
    1873: {"run_id": 1873, "run_type": "PEDCALIB", "run_start": 1580157300000000000},
    1874: {"run_id": 1874, "run_type": "DATA", "run_start": 1580157904000000000},
}


def test_data_runs_wait_for_a_complete_calibration_pair(tmp_path):
    w = RawWatch(tmp_path, quiet_s=1e9)
    for run in (1872, 1873, 1874):
        touch(tmp_path, run, 0)
        touch(tmp_path, run, 1)
    w.look(0)
    w.runs[1872].ended = True
    assert summary_runs(ROWS, w, night_over=False) == {1872: 2}  # CALI still being taken: 1874 waits
    w.runs[1873].ended = True
    assert summary_runs(ROWS, w, night_over=False) == {1872: 2, 1873: 2, 1874: 1}
    text = render(NIGHT, ROWS, summary_runs(ROWS, w, night_over=False))
    s = parse_run_summary_ecsv(text, "follow", NIGHT)
    assert [(r.run_id, r.n_subruns, r.run_type) for r in s.runs] == [(1872, 2, "DRS4"), (1873, 2, "CALI"),
                                                                      (1874, 1, "DATA")]


def test_nightly_args_drop_follow_options():
    assert nightly_args(["--date", "2020-01-27", "--cycle", "5", "--night-end=2020-01-28T07:00", "--no-handover",
                         "--data-root", "/d"]) == ["--date", "2020-01-27", "--data-root", "/d"]


# --------------------------------------------------------------------------- lstosa-follow on a toy night


def follow_cmd(data_root, tools, tmp_path, *extra):
    return [str(BIN / "lstosa-follow"), "--date", str(NIGHT), "--data-root", str(data_root), "--cores", "2",
            *[a for item in toy_config_args(tmp_path, tools) for a in ("--config", item)], *extra]


def calls(tools: Path, tool: str) -> list[str]:
    f = tools / "CALLS"
    return [line.split()[1] for line in f.read_text().splitlines() if line.split()[0] == tool] if f.is_file() else []


def test_follow_processes_while_taking_data_and_the_morning_redoes_nothing(tmp_path):
    """Replay a toy night (DRS4, CALI, DATA 10 + 2 sub-runs) while lstosa-follow runs; each run is merged
    once it ended, the page shows the runs' states, and the morning's lstosa-nightly only closes."""
    src = tmp_path / "src"
    make_toy_night(src, with_summary=False)
    data = tmp_path / "data"
    tools = make_tools_bin(tmp_path / "tools")
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    replayer = subprocess.Popen([str(BIN / "lstosa-replay"), "--source", str(src), "--data-root", str(data),
                                 "--date", str(NIGHT), "--subrun-seconds", "0.6", "--run-gap", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    end = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).replace(tzinfo=None).isoformat()
    try:
        res = run_with_timeout(follow_cmd(data, tools, tmp_path, "--cycle", "2", "--run-end-quiet", "6",
                                          "--night-end", end, "--max-cycles", "30", "--no-handover"), 600,
                               cwd=PROJECT, env=env)
    finally:
        out, _ = replayer.communicate(timeout=120)
    assert replayer.returncode == 0, out
    assert res.returncode == 0, res.stdout[-3000:]
    state = json.loads((data / "running_analysis" / "20200127" / "v0.12" / "follow" / "state.json").read_text())
    runs = state["run_states"]
    assert runs["1874"]["state"] == "done" and runs["1875"]["state"] == "done", runs
    assert runs["1872"]["state"] == runs["1873"]["state"] == "calibration run"
    dl2 = data / "DL2" / "20200127" / "v0.12"
    assert (dl2 / "dl2_LST-1.Run01874.h5").is_file() and (dl2 / "dl2_LST-1.Run01875.h5").is_file()
    r0_calls = calls(tools, "lstchain_data_r0_to_dl1")
    assert sorted(r0_calls) == sorted(f"LST-1.1.Run0187{r}.{s:04d}.fits.fz" for r, n in ((4, 10), (5, 2))
                                      for s in range(n))  # every sub-run once, none twice
    assert "processing" in res.stdout or "new runs" in res.stdout
    page = data / "datacheck_web" / "v0.12" / "20200127" / "index.html"
    html = page.read_text()
    live = html.split('id="live"')[1].split("</table>")[0]  # the run-by-run table while the night runs
    assert "01874" in live and "01875" in live and live.count(">done<") == 2 and "calibration run" in live
    # the morning: lstosa-nightly on the same night closes it without redoing a sub-run
    morning = run_with_timeout([str(BIN / "lstosa-nightly"), *nightly_args(follow_cmd(data, tools, tmp_path)[1:])],
                               600, cwd=PROJECT, env=env)
    assert morning.returncode == 0, morning.stdout[-3000:]
    assert (data / "running_analysis" / "20200127" / "v0.12" / "NightFinished.txt").is_file()
    assert sorted(calls(tools, "lstchain_data_r0_to_dl1")) == sorted(r0_calls)
    assert len(calls(tools, "lstchain_dl1_to_dl2")) == 12


def test_follow_killed_at_any_point_resumes(tmp_path):
    """SIGKILL lstosa-follow while its Snakemake works: the Snakemake stops with it (no orphan keeps the
    night's locks), the restarted follow finishes the night, and no sub-run is processed more than
    twice (once more only if it was being processed when the kill landed)."""
    src = tmp_path / "src"
    make_toy_night(src, with_summary=False)
    data = tmp_path / "data"
    tools = make_tools_bin(tmp_path / "tools")
    (tools / "SLEEP").write_text("lstchain_data_r0_to_dl1 1\n")
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    assert replay(src / "R0" / "20200127", data / "R0" / "20200127", 0, 0, say=lambda _: None) == 4 * (1 + 1 + 10 + 2)
    (data / "monitoring").mkdir(parents=True)
    import shutil  # noqa: PLC0415
    shutil.copytree(src / "monitoring" / "DrivePositioning", data / "monitoring" / "DrivePositioning")
    cmd = follow_cmd(data, tools, tmp_path, "--cycle", "1", "--run-end-quiet", "2", "--night-end-quiet", "4",
                     "--night-end", "2099-01-01T00:00", "--no-handover")
    proc = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    dl1 = data / "DL1" / "20200127" / "v0.12"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(dl1.glob("dl1_LST-1.Run01874.*.h5"))) < 2:
        time.sleep(0.2)
    assert len(list(dl1.glob("dl1_LST-1.Run01874.*.h5"))) >= 2, "no product before the kill"
    proc.kill()
    proc.wait()
    deadline = time.time() + 30  # Snakemake got SIGTERM: it cancels its jobs, then exits
    while time.time() < deadline:
        leftover = subprocess.run(["pgrep", "-af", f"bin/snakemake .*{data}"], capture_output=True,
                                  text=True).stdout.strip()
        if not leftover:
            break
        time.sleep(0.5)
    assert not leftover, f"Snakemake outlived the killed lstosa-follow: {leftover}"
    res = run_with_timeout(cmd, 600, cwd=PROJECT, env=env)
    assert res.returncode == 0, res.stdout[-3000:]
    state = json.loads((data / "running_analysis" / "20200127" / "v0.12" / "follow" / "state.json").read_text())
    assert state["run_states"]["1874"]["state"] == state["run_states"]["1875"]["state"] == "done"
    r0_calls = calls(tools, "lstchain_data_r0_to_dl1")
    expected = {f"LST-1.1.Run0187{r}.{s:04d}.fits.fz" for r, n in ((4, 10), (5, 2)) for s in range(n)}
    assert set(r0_calls) == expected
    assert max(r0_calls.count(c) for c in expected) <= 2
    assert (data / "DL2" / "20200127" / "v0.12" / "dl2_LST-1.Run01874.h5").is_file()
    # the follow cycles' Snakemake keeps its state in the night's own directory (ops/smkrun.py)
    state_dir = night_snakemake_dir(PROJECT, SimpleNamespace(output_root=data, date="20200127", prod_id="v0.12"))
    assert (state_dir / ".snakemake" / "metadata").is_dir()
