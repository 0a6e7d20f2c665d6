"""Pytest fixtures for the real single-node SLURM cluster and a hang-proof Snakemake runner.

Registered from tests/conftest.py via ``pytest_plugins``.

* ``slurm_cluster`` (session): reuses a running cluster, else runs ``tests/infra/slurm.sh install``
  and ``start`` (root only; otherwise skips with the reason, or fails under ``LSTOSA_REQUIRE_ALL=1``:
  tests/tiers.py) and stops the daemons at the end of the
  session only if it started them (``LSTOSA_SLURM_KEEP=1`` keeps them running for the next session).
* ``run_snakemake(...)``: every Snakemake process of the test-suite runs through it. It runs in its
  own process group with a timeout; on timeout the group gets SIGTERM, then SIGKILL, and SLURM jobs
  of that run (their IDs read from Snakemake's output) are scancel'ed.
* ``sbatch_spy`` (function): a directory with an ``sbatch`` wrapper that logs every call and execs the
  real one; put it first on PATH (``env=sbatch_spy.env()``) and count calls with ``sbatch_spy.calls()``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tiers import require_or_skip

REPO = Path(__file__).resolve().parents[1]
SLURM_SH = REPO / "tests" / "infra" / "slurm.sh"
SLURM_PROFILE = REPO / "profiles" / "slurm"
DEFAULT_PROFILE = REPO / "profiles" / "default"


def _snakemake_cmd() -> list[str]:
    exe = REPO / ".venv" / "bin" / "snakemake"
    if exe.exists():
        return [str(exe)]
    exe = Path(sys.executable).with_name("snakemake")
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-m", "snakemake"]


def clean_env(extra: dict | None = None) -> dict:
    """Environment for Snakemake: no SLURM_* variables leaking from an allocation, venv first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_") and k != "SNAKEMAKE_PROFILE"}
    venv_bin = str(REPO / ".venv" / "bin")
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    if extra:
        env.update(extra)
    return env


@dataclass
class SnakemakeResult:
    cmd: list[str]
    returncode: int | None
    output: str
    seconds: float
    timed_out: bool
    log_path: Path
    slurm_run_ids: list[str] = field(default_factory=list)
    slurm_job_ids: list[str] = field(default_factory=list)

    def __str__(self) -> str:  # shown by pytest on assertion failures
        tail = "\n".join(self.output.splitlines()[-60:])
        return (f"snakemake rc={self.returncode} timed_out={self.timed_out} after {self.seconds:.1f}s\n"
                f"cmd: {' '.join(self.cmd)}\nlog: {self.log_path}\n--- last lines ---\n{tail}")


_RUN_ID = re.compile(r"SLURM run ID: (\S+)")
_JOB_ID = re.compile(r"submitted with SLURM jobid (\d+)")


def _kill_group(proc: subprocess.Popen, grace: float) -> None:
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            # the leader is gone; make sure the rest of the group is too
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return
        except subprocess.TimeoutExpired:
            continue


def run_snakemake(args: list[str], cwd: Path, timeout: float, env: dict | None = None,
                  log_name: str = "snakemake.log", grace: float = 20.0) -> SnakemakeResult:
    """Run ``snakemake ARGS`` in CWD, output to CWD/LOG_NAME; never longer than TIMEOUT (+grace) seconds.

    On timeout: SIGTERM to the process group, SIGKILL after GRACE seconds, then scancel of the SLURM
    jobs of the run (so that a hung run leaves nothing queued). Returns a SnakemakeResult.
    """
    cwd = Path(cwd)
    cmd = _snakemake_cmd() + [str(a) for a in args]
    log_path = cwd / log_name
    t0 = time.monotonic()
    timed_out = False
    with open(log_path, "w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env if env is not None else clean_env(),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc, grace)
        except BaseException:  # KeyboardInterrupt etc.: never leave Snakemake behind
            _kill_group(proc, 2.0)
            raise
    seconds = time.monotonic() - t0
    text = log_path.read_text(errors="replace")
    run_ids = _RUN_ID.findall(text)
    job_ids = _JOB_ID.findall(text)
    if timed_out and job_ids and shutil.which("scancel"):
        subprocess.run(["scancel", *job_ids], timeout=30, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        text += f"\n[run_snakemake] TIMEOUT after {timeout}s: killed, scancel'ed jobs {job_ids} of {run_ids}\n"
    elif timed_out:
        text += f"\n[run_snakemake] TIMEOUT after {timeout}s: killed\n"
    return SnakemakeResult(cmd, proc.returncode, text, seconds, timed_out, log_path, run_ids, job_ids)


def _cluster_usable() -> bool:
    if not (shutil.which("sinfo") and shutil.which("sacct")):
        return False
    try:
        s = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=15)
        a = subprocess.run(["sacct", "-n", "-X", "-S", "now-1minutes"], capture_output=True, text=True,
                           timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return False
    states = s.stdout.split()
    return s.returncode == 0 and a.returncode == 0 and any(
        st.startswith(("idle", "mix", "alloc")) for st in states)


def _slurm_sh(sub: str, timeout: float) -> None:
    r = subprocess.run(["bash", str(SLURM_SH), sub], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"tests/infra/slurm.sh {sub} failed (rc={r.returncode}):\n{r.stdout}\n{r.stderr}")


@dataclass
class SlurmCluster:
    started_here: bool
    partition: str = "debug"


@pytest.fixture(scope="session")
def slurm_cluster():
    """A usable SLURM cluster with accounting, started by tests/infra/slurm.sh if needed."""
    if _cluster_usable():
        yield SlurmCluster(started_here=False)
        return
    if os.geteuid() != 0:
        require_or_skip("SLURM cluster not running and not root: run 'sudo tests/infra/slurm.sh install start' "
                        "(or 'tests/infra/slurm.sh start' as root) first", tier="slurm")
    try:
        _slurm_sh("install", timeout=900)
        _slurm_sh("start", timeout=300)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        pytest.fail(f"could not bring up the SLURM cluster: {e}")
    if not _cluster_usable():
        pytest.fail("tests/infra/slurm.sh start succeeded but sinfo/sacct do not answer")
    try:
        yield SlurmCluster(started_here=True)
    finally:
        if os.environ.get("LSTOSA_SLURM_KEEP") != "1":
            subprocess.run(["bash", str(SLURM_SH), "stop"], stdin=subprocess.DEVNULL, timeout=120,
                           capture_output=True)


class SbatchSpy:
    """``sbatch`` wrapper first on PATH that appends each call (one line, the --wrap command elided) to a
    log, then execs the real sbatch."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = self.dir / "sbatch_calls.log"
        real = shutil.which("sbatch", path="/usr/local/bin:/usr/bin:/bin") or "/usr/bin/sbatch"
        wrapper = self.dir / "sbatch"
        wrapper.write_text(
            "#!/bin/sh\n"
            f"printf '%s %s\\n' \"$(date +%s.%N)\" \"$(printf '%s' \"$*\" | tr '\\n' ' ' | sed 's/ --wrap.*/ --wrap .../' | cut -c1-2000)\""
            f" >> '{self.log}'\n"
            f"exec '{real}' \"$@\"\n")
        wrapper.chmod(0o755)

    def env(self, extra: dict | None = None) -> dict:
        env = clean_env(extra)
        env["PATH"] = str(self.dir) + os.pathsep + env["PATH"]
        return env

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def sbatch_spy(tmp_path):
    return SbatchSpy(tmp_path / "spy")
