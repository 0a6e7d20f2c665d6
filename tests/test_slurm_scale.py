"""lstosa-nightly through profiles/slurm on the real cluster, with the FAKE lstchain tools (tests/fake_tools.py):
every sub-run its own SLURM job named after it, all of them running at once on the wide partition, a bad
sub-run failing alone, and a night resumed after its Snakemake was killed while its SLURM jobs ran on.

(The same on the real tools: test_slurm_night.py. The makespan against an LSTOSA-style array script:
benchmarks/slurm_scale_bench.py, smoke-tested in test_benchmarks.py.)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from fake_tools import PROJECT, children, cron_env, make_tools_bin, make_toy_night, run_with_timeout, toy_config_args
from slurm_fixtures import SLURM_PROFILE

pytestmark = pytest.mark.slurm

NIGHTLY = PROJECT / "scripts" / "lstosa-nightly"
RDIR = Path("running_analysis/20200127/v0.12")
# the wide partition (32 CPUs) and fast polling: the profile's 5-20 s would only make the tests slower
WIDE = ("--snakemake-args=--default-resources mem_mb=2000 runtime=60 slurm_partition=wide "
        "--lstosa-slurm-init-seconds-before-status-checks 2 --seconds-between-status-checks 2 "
        "--lstosa-slurm-max-status-check-seconds 5 --latency-wait 5")



def toy(tmp_path, runs):
    data = tmp_path / "data"
    make_toy_night(data, runs=runs)
    tools = make_tools_bin(tmp_path / "tools")
    args = ["--date", "2020-01-27", "--data-root", str(data), "--profile", str(SLURM_PROFILE), WIDE]
    for item in toy_config_args(tmp_path, tools):
        args += ["--config", item]
    return {"data": data, "tools": tools, "args": args, "rdir": data / RDIR}


def sacct(ids) -> list[dict]:
    env = {**os.environ, "SLURM_TIME_FORMAT": "%s"}
    out = subprocess.run(["sacct", "-n", "-X", "-P", "-j", ",".join(ids), "-o", "JobIDRaw,JobName%60,State,Start,End"],
                         capture_output=True, text=True, timeout=60, check=True, env=env).stdout
    rows = []
    for line in out.splitlines():
        jid, name, state, start, end = line.split("|")
        rows.append({"id": jid, "name": name, "state": state.split()[0], "start": start, "end": end})
    return rows


def submitted_ids(rdir: Path) -> list[str]:
    text = "".join(p.read_text() for p in (rdir / "log").glob("nightly_*.log"))
    return re.findall(r"submitted with SLURM jobid (\d+)", text)


def calls(tools: Path, tool: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in (tools / "CALLS").read_text().splitlines():
        name, _, inp = line.partition(" ")
        m = re.search(r"Run(\d{5})\.(\d{4})", inp)
        if name == tool and m:
            counts[f"{m.group(1)}.{m.group(2)}"] = counts.get(f"{m.group(1)}.{m.group(2)}", 0) + 1
    return counts


def test_bad_subrun_fails_alone_while_all_others_run_at_once(slurm_cluster, tmp_path):
    t = toy(tmp_path, {1874: 10, 1875: 2})
    (t["tools"] / "SLEEP").write_text("lstchain_data_r0_to_dl1 20\n")
    (t["tools"] / "FAIL").write_text("lstchain_data_r0_to_dl1 01874.0003\n")
    res = run_with_timeout([str(NIGHTLY), *t["args"], "--config", "close_min_success_fraction=0.8"], 900,
                           cwd="/", env=cron_env())
    assert res.returncode == 0, res.stdout
    assert "run 01874: 1 of 10 sub-runs failed (3)" in res.stdout and "CLOSED" in res.stdout, res.stdout

    # the bad sub-run: 3 attempts (retries: 2), a one-line reason naming it
    r0 = calls(t["tools"], "lstchain_data_r0_to_dl1")
    assert r0.pop("01874.0003") == 3
    # every other sub-run: r0_to_dl1 and dl1_to_dl2 exactly once, nothing redone
    good = {f"01874.{s:04d}" for s in range(10) if s != 3} | {"01875.0000", "01875.0001"}
    assert r0 == dict.fromkeys(good, 1)
    assert calls(t["tools"], "lstchain_dl1_to_dl2") == dict.fromkeys(good, 1)
    failures = [p.read_text() for p in (t["rdir"] / "failures").rglob("*") if p.is_file()]
    assert any("r0_to_dl1 run 01874 sub-run 0003" in f for f in failures), failures
    dl1 = t["data"] / "DL1/20200127/v0.12"
    assert sorted(p.name for p in dl1.glob("dl1_LST-1.Run01874.0*.h5")) == sorted(
        f"dl1_LST-1.Run01874.{s:04d}.h5" for s in range(10) if s != 3)
    assert (dl1 / "dl1_LST-1.Run01874.h5").is_file()
    assert (t["data"] / "DL2/20200127/v0.12/dl2_LST-1.Run01875.h5").is_file()

    # SLURM's view: one job per sub-run (its chain), named after it; all 12 ran at the same time
    rows = sacct(submitted_ids(t["rdir"]))
    chains = [r for r in rows if r["name"].startswith("subrun_chain.")]
    names = sorted(r["name"] for r in chains)
    assert names.count("subrun_chain.Run01874.0003") == 3
    assert sorted(set(names)) == sorted(f"subrun_chain.Run{s}" for s in good | {"01874.0003"})
    good_rows = [r for r in chains if r["name"] != "subrun_chain.Run01874.0003"]
    assert max(int(r["start"]) for r in good_rows) < min(int(r["end"]) for r in good_rows), \
        "every good sub-run's chain was running at one moment"
    assert {r["state"] for r in chains if r["name"] == "subrun_chain.Run01874.0003"} == {"FAILED"}
    assert all(r["state"] == "COMPLETED" for r in rows if r["name"] != "subrun_chain.Run01874.0003"), rows
    assert any(r["name"] == "merge_dl1.Run01874" for r in rows)
    # without DL1b the sub-run's datacheck and DL2 run inside its chain's job, not as jobs of their own
    assert not [r["name"] for r in rows if r["name"].split(".")[0] in ("dl1b_chain", "dl1_datacheck", "dl1_to_dl2")]



def running_r0(ids: list[str]) -> list[str]:
    out = subprocess.run(["squeue", "--me", "-h", "-t", "R", "-o", "%i|%j"], capture_output=True, text=True,
                         timeout=30).stdout
    return [line.split("|")[0] for line in out.splitlines()
            if line.split("|")[0] in ids and line.split("|")[1].startswith("subrun_chain.")]


def test_killed_snakemake_leaves_jobs_running_next_invocation_cancels_them_and_closes(slurm_cluster, tmp_path):
    t = toy(tmp_path, {1874: 4})
    (t["tools"] / "SLEEP").write_text("lstchain_data_r0_to_dl1 300\n")
    first = subprocess.Popen([str(NIGHTLY), *t["args"]], cwd="/", env=cron_env(), start_new_session=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not (
                len(running_r0(submitted_ids(t["rdir"]))) == 4 and (t["tools"] / "CALLS").is_file()
                and len(calls(t["tools"], "lstchain_data_r0_to_dl1")) == 4):  # the tools themselves run
            time.sleep(1)
        orphaned = running_r0(submitted_ids(t["rdir"]))
        assert len(orphaned) == 4, "the four sub-run chains never ran"
        # a second invocation meanwhile: refused by the night's lock, nothing submitted
        second = run_with_timeout([str(NIGHTLY), *t["args"]], 120, cwd="/", env=cron_env())
        assert second.returncode == 0 and f"being processed by PID {first.pid}" in second.stdout, second.stdout
        smk = [c for c in children(first.pid) if "snakemake" in Path(f"/proc/{c}/cmdline").read_text()]
        assert smk, "no Snakemake child found"
        os.killpg(smk[0], signal.SIGKILL)  # a crash: Snakemake cannot cancel its jobs
        out, _ = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    assert first.returncode == 5, out
    assert sorted(running_r0(orphaned)) == sorted(orphaned), "SLURM jobs outlive the killed Snakemake"

    (t["tools"] / "SLEEP").unlink()
    again = run_with_timeout([str(NIGHTLY), *t["args"]], 900, cwd="/", env=cron_env())
    assert again.returncode == 0, again.stdout
    m = re.search(r"cancelled (\d+) SLURM job\(s\) left queued or running by an earlier, killed run of this night "
                  r"\(([\d, ]+)\)", again.stdout)
    assert m, again.stdout
    assert set(orphaned) <= set(m.group(2).split(", ")), (orphaned, m.group(0))  # (and calibration plots)
    assert "CLOSED" in again.stdout, again.stdout
    assert {r["state"] for r in sacct(orphaned)} == {"CANCELLED"}
    dl1 = t["data"] / "DL1/20200127/v0.12"
    assert len(list(dl1.glob("dl1_LST-1.Run01874.0*.h5"))) == 4
    assert (dl1 / "dl1_LST-1.Run01874.h5").is_file() and (t["rdir"] / "NightFinished.txt").is_file()
    # each sub-run's r0_to_dl1: the orphaned call (cancelled) and the redone one
    assert calls(t["tools"], "lstchain_data_r0_to_dl1") == {f"01874.{s:04d}": 2 for s in range(4)}
