"""Snakemake on the real single-node SLURM cluster (tests/infra/slurm.sh) with profiles/slurm.

Toy workflow: tests/data/toy_slurm/Snakefile. Every job appends a line to ledger/<rule>.txt with its
attempt number and SLURM job id, so attempts and sbatch calls can be counted; sacct gives the states.
Each Snakemake runs through run_snakemake (own process group, timeout, hard kill, scancel).
Slow by nature (~10 s per SLURM job); the runtime test takes ~4 minutes.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from slurm_fixtures import REPO, SLURM_PROFILE, SbatchSpy, clean_env, run_snakemake

pytestmark = pytest.mark.slurm

SNAKEFILE = REPO / "tests" / "data" / "toy_slurm" / "Snakefile"
# fast polling for tests (the profile's 10 s would only make them slower)
FAST = ["--lstosa-slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2",
        "--latency-wait", "5"]


def toy(workdir: Path, *args: str, timeout: float, spy: SbatchSpy | None = None, log_name="snakemake.log",
        profile: Path = SLURM_PROFILE, env: dict | None = None):
    cmd = ["-s", str(SNAKEFILE), "--profile", str(profile), *FAST, *args]
    if spy:
        env = spy.env() if env is None else {**env, "PATH": spy.env()["PATH"]}
    return run_snakemake(cmd, cwd=workdir, timeout=timeout, env=env, log_name=log_name)


def ledger(workdir: Path, rule: str) -> list[tuple[str, int, str]]:
    """[(wildcards, attempt, slurm job id)] from ledger/<rule>.txt"""
    f = workdir / "ledger" / f"{rule}.txt"
    rows = []
    for line in (f.read_text().splitlines() if f.exists() else []):
        m = re.fullmatch(rf"{rule} (.*) attempt=(\d+) job=(\S+)", line)
        assert m, line
        rows.append((m.group(1).strip(), int(m.group(2)), m.group(3)))
    return rows


def sacct_states(jobids) -> dict[str, tuple[str, str]]:
    """{jobid: (State, ExitCode)} of the given job allocations (polls until none is pending/running)."""
    ids = ",".join(jobids)
    deadline = time.monotonic() + 60
    while True:
        out = subprocess.run(["sacct", "-n", "-X", "-P", "-j", ids, "-o", "JobIDRaw,State,ExitCode"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        rows = {r.split("|")[0]: (r.split("|")[1].split()[0], r.split("|")[2]) for r in out.splitlines() if r}
        if set(rows) >= set(jobids) and not any(s in ("PENDING", "RUNNING", "COMPLETING") for s, _ in rows.values()):
            return rows
        if time.monotonic() > deadline:
            return rows
        time.sleep(1)


def test_small_dag_completes(slurm_cluster, tmp_path, sbatch_spy):
    r = toy(tmp_path, "--config", "subruns=3", timeout=400, spy=sbatch_spy)
    assert r.returncode == 0 and not r.timed_out, r
    assert (tmp_path / "merged.txt").read_text() == "".join(f"a{i:04d}\nb{i:04d}\n" for i in range(3))
    for i in range(3):
        assert (tmp_path / "b" / f"{i:04d}.txt").read_text() == f"a{i:04d}\nb{i:04d}\n"
    rows = ledger(tmp_path, "a") + ledger(tmp_path, "b") + ledger(tmp_path, "merge")
    assert len(rows) == 7 and all(att == 1 for _, att, _ in rows), rows
    jobids = [j for _, _, j in rows]
    assert all(j.isdigit() for j in jobids), "every job ran inside a SLURM allocation"
    assert len(set(jobids)) == 7, "one SLURM job per Snakemake job"
    assert len(sbatch_spy.calls()) == 7
    assert all(s == ("COMPLETED", "0:0") for s in sacct_states(jobids).values())


def test_deterministic_failure_is_retried_up_to_bound(slurm_cluster, tmp_path, sbatch_spy):
    r = toy(tmp_path, "fails.txt", timeout=400, spy=sbatch_spy)
    assert not r.timed_out, r
    assert r.returncode != 0, r
    assert "Error in rule always_fails" in r.output, r
    assert re.search(r"SLURM-job '\d+' failed, SLURM status is: 'FAILED'", r.output), r
    rows = ledger(tmp_path, "always_fails")
    assert [att for _, att, _ in rows] == [1, 2, 3], "retries: 2 in profiles/slurm -> exactly 3 attempts"
    assert len(sbatch_spy.calls()) == 3
    states = sacct_states([j for _, _, j in rows])
    # the allocation's exit code is that of Snakemake inside the job (1), not the shell's 3
    assert all(s == ("FAILED", "1:0") for s in states.values()), states
    assert not (tmp_path / "fails.txt").exists()
    # the SLURM log of a failed job is kept and shows the error
    logs = list((tmp_path / ".snakemake" / "slurm_logs" / "rule_always_fails").glob("*.log"))
    assert logs and any("deliberate failure" in p.read_text() for p in logs)


def _run_and_scancel_victim(tmp_path, spy, timeout, *extra):
    """Run the 'victim' rule; scancel its first SLURM job a few seconds into its 120 s sleep."""
    result = {}
    th = threading.Thread(target=lambda: result.update(
        r=toy(tmp_path, "victim.txt", "--config", "victim_nap=120", *extra, timeout=timeout, spy=spy)))
    th.start()
    deadline = time.monotonic() + 120
    victim = None
    while time.monotonic() < deadline and th.is_alive():
        rows = ledger(tmp_path, "victim")
        if rows:
            victim = rows[0][2]
            break
        time.sleep(0.5)
    assert victim, "the victim job never started"
    time.sleep(2)
    subprocess.run(["scancel", victim], check=True, timeout=30)
    th.join(timeout=timeout + 60)
    return result["r"], victim


def test_scancel_mid_run_is_retried(slurm_cluster, tmp_path, sbatch_spy):
    r, victim = _run_and_scancel_victim(tmp_path, sbatch_spy, 400)
    assert r.returncode == 0 and not r.timed_out, r
    assert (tmp_path / "victim.txt").read_text() == "survived\n"
    rows = ledger(tmp_path, "victim")
    # the cancelled attempt is retried until it completes (a loaded machine may need a third attempt)
    assert [att for _, att, _ in rows] == list(range(1, len(rows) + 1)) and len(rows) >= 2 and rows[0][2] == victim
    states = sacct_states([j for _, _, j in rows])
    assert states[victim][0] == "CANCELLED" and states[rows[-1][2]] == ("COMPLETED", "0:0"), states
    assert re.search(r"SLURM status is: 'CANCELLED'", r.output), r
    assert len(sbatch_spy.calls()) == 2


def test_sacct_status_notices_scancel(slurm_cluster, tmp_path, sbatch_spy):
    """With sacct polling the plugin 2.8.0 alone never notices a scancel'ed job (sacct says 'CANCELLED by <uid>',
    which it takes for 'still running': Snakemake waits forever; shown by this test before the fix). The
    lstosa-slurm executor reads it as CANCELLED (for every executor in the process: the hook replaces the
    plugin's status parser): the job is retried and the run completes."""
    r, victim = _run_and_scancel_victim(tmp_path, sbatch_spy, 400, "--lstosa-slurm-status-command", "sacct")
    assert r.returncode == 0 and not r.timed_out, r
    rows = ledger(tmp_path, "victim")
    assert [att for _, att, _ in rows] == [1, 2] and rows[0][2] == victim
    out = subprocess.run(["sacct", "-n", "-X", "-P", "-j", victim, "-o", "State"], capture_output=True,
                         text=True, timeout=30).stdout.strip()
    assert out.startswith("CANCELLED by"), out
    assert len(sbatch_spy.calls()) == 2


def test_runtime_exceeded_is_retried_with_longer_limit(slurm_cluster, tmp_path, sbatch_spy):
    # attempt 1: -t 1 (minute); SLURM checks limits every ~30 s, so the kill comes 60-90 s (+KillWait 5 s)
    # after the start; the job sleeps 100 s. Attempt 2: -t 5, completes.
    r = toy(tmp_path, "slow.txt", "--config", "slow_nap=100", timeout=600, spy=sbatch_spy)
    assert r.returncode == 0 and not r.timed_out, r
    assert (tmp_path / "slow.txt").read_text() == "slow done\n"
    rows = ledger(tmp_path, "slow")
    assert [att for _, att, _ in rows] == [1, 2]
    calls = sbatch_spy.calls()
    assert len(calls) == 2 and " -t 1 " in calls[0] and " -t 5 " in calls[1], calls
    states = sacct_states([j for _, _, j in rows])
    assert states[rows[0][2]][0] == "TIMEOUT" and states[rows[1][2]] == ("COMPLETED", "0:0"), states
    assert re.search(r"SLURM status is: 'TIMEOUT'", r.output), r


def test_jobs_named_after_what_they_process(slurm_cluster, tmp_path, sbatch_spy):
    """squeue/sacct show each job by rule and wildcards, and one Snakemake start runs it (no srun step)."""
    r = toy(tmp_path, "--config", "subruns=2", "nap=0", timeout=400, spy=sbatch_spy)
    assert r.returncode == 0 and not r.timed_out, r
    jobids = [j for _, _, j in ledger(tmp_path, "a") + ledger(tmp_path, "b")]
    out = subprocess.run(["sacct", "-n", "-P", "-j", ",".join(jobids), "-o", "JobIDRaw,JobName"],
                         capture_output=True, text=True, timeout=30, check=True).stdout.splitlines()
    names = {line.split("|")[1] for line in out if "." not in line.split("|")[0]}
    assert names == {"a", "b"}, names  # the toy's wildcards have no run: the rule's name alone
    steps = {line.split("|")[0].split(".", 1)[1] for line in out if "." in line.split("|")[0]}
    assert steps <= {"batch", "extern"}, f"a job step was started: {steps}"


def test_under_requested_memory_is_killed_and_retried_with_more(slurm_cluster, tmp_path, sbatch_spy):
    """The test cluster enforces --mem (OverMemoryKill): rule 'hog' allocates 300 MB, asks 300 MB x attempt;
    the Snakemake that runs it inside the job counts too."""
    r = toy(tmp_path, "hog.txt", timeout=400, spy=sbatch_spy)
    assert r.returncode == 0 and not r.timed_out, r
    rows = ledger(tmp_path, "hog")
    assert [att for _, att, _ in rows] == [1, 2], rows
    states = sacct_states([j for _, _, j in rows])
    assert states[rows[0][2]][0] in ("OUT_OF_MEMORY", "FAILED", "CANCELLED"), states
    assert states[rows[1][2]] == ("COMPLETED", "0:0"), states
    calls = sbatch_spy.calls()
    assert " --mem 300 " in calls[0] and " --mem 600 " in calls[1], calls
    assert (tmp_path / "hog.txt").read_text() == "hog done\n"


# --- status polling without accounting (slurmdbd unreachable) --------------------------------------

@pytest.fixture
def accounting_unreachable(slurm_cluster, tmp_path) -> dict:
    """Environment in which slurmdbd is unreachable for this test's processes only.

    A client copy of the cluster's slurm.conf points AccountingStoragePort at a closed port, so the real
    sacct fails exactly as with slurmdbd down ("Problem talking to the database: Connection refused"),
    while sbatch/squeue still reach slurmctld. Stopping the shared slurmdbd instead raced with the
    other pytest-xdist workers, whose ``slurm_cluster`` fixture restarts a daemon it finds stopped."""
    conf = Path(os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf"))
    text = conf.read_text()
    port = _closed_port()
    patched, n = re.subn(r"(?m)^AccountingStoragePort=\d+$", f"AccountingStoragePort={port}", text)
    assert n == 1, f"no AccountingStoragePort line in {conf}"
    client_conf = tmp_path / "slurm-no-accounting.conf"
    client_conf.write_text(patched)
    env = clean_env({"SLURM_CONF": str(client_conf)})
    probe = subprocess.run(["sacct", "-n", "-X"], capture_output=True, text=True, timeout=60, env=env)
    assert probe.returncode != 0 and "Connection refused" in probe.stderr, probe
    assert subprocess.run(["squeue", "-h"], capture_output=True, timeout=60, env=env).returncode == 0
    return env


def _closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sacct_status_without_accounting_hangs_and_harness_kills_it(accounting_unreachable, tmp_path):
    """Documents a plugin 2.8.0 bug: when every status query fails, the jobs are silently dropped from
    the active list and Snakemake waits forever. run_snakemake's timeout is what makes it fail loudly."""
    r = toy(tmp_path, "a/0000.txt", "--config", "subruns=1", "--lstosa-slurm-status-command", "sacct",
            timeout=60, env=accounting_unreachable)
    assert r.timed_out, r
    assert "TIMEOUT after 60" in r.output
    assert (tmp_path / "a" / "0000.txt").read_text() == "a0000\n", "the job itself completed"
    # nothing of the run is left in the queue
    assert r.slurm_job_ids
    q = subprocess.run(["squeue", "-h", "-j", ",".join(r.slurm_job_ids), "-t", "PD,R"], capture_output=True,
                       text=True, timeout=30)
    assert q.stdout.strip() == ""


def test_squeue_status_without_accounting_completes(accounting_unreachable, tmp_path):
    r = toy(tmp_path, "a/0000.txt", "--config", "subruns=1", "--lstosa-slurm-status-command", "squeue", timeout=200,
            env=accounting_unreachable)
    assert r.returncode == 0 and not r.timed_out, r
    assert (tmp_path / "a" / "0000.txt").read_text() == "a0000\n"
