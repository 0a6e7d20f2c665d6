"""Running Snakemake for a night: the command line, a pass into the night's log with its progress,
a dry run kept in memory, stopping it, and a killed Snakemake's stale locks.

Each night's Snakemake keeps its state (locks, incomplete markers, metadata, SLURM logs) in a directory of its
own, ``<project>/.snakemake-nights/<date>_<prod_id>_<output tree key>/.snakemake`` (``--directory``), not in the
project's ``.snakemake``: nights run side by side from one installation (tonight's follow mode, yesterday's
closing, a reprocessing) without sharing lock state. Snakemake 9 numbers its lock files by the first free number
(two Snakemakes starting together can take the same one) and, when it ends, removes the whole lock directory with
every other Snakemake's locks in it (``FilePersistence._delete_locks``), so a shared ``.snakemake`` loses locks.
The directory is on the project's disk, not the output tree's: a full output disk must stay the night's one
"no space" error, not also break Snakemake's own bookkeeping (tests/test_robustness.py).

``SnakemakeRuns`` is a part of ``nightly.Night`` (its base class), kept apart so that each reads
alone. It uses the night's ``s`` (Settings), ``paths``, ``rdir``, ``log_path``/``log_fh`` (the
open log), ``deadline``, ``say`` and keeps ``proc``, ``progress`` and ``last_output``.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from .progress import Progress


def tool_env(base: Path) -> dict:
    """A usable environment also under cron (minimal PATH, no locale, maybe no HOME)."""
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", ""), "/usr/local/bin", "/usr/bin", "/bin"]).replace(
        os.pathsep * 2, os.pathsep)
    env.setdefault("LANG", "C.UTF-8")
    env.setdefault("LC_ALL", env["LANG"])
    if "HOME" not in env:
        env["HOME"] = pwd.getpwuid(os.getuid()).pw_dir
    env["LSTOSA_SNAKE_HOME"] = str(base)
    return env


def snakemake_bin() -> str:
    local = Path(sys.executable).parent / "snakemake"
    return str(local) if local.exists() else (shutil.which("snakemake") or "snakemake")


def night_snakemake_dir(base: Path, paths) -> Path:
    """Snakemake's working directory for one night and production of one output tree (its state in
    ``.snakemake`` below it). The key of the output tree keeps apart the same night written to two trees."""
    key = hashlib.sha1(str(Path(paths.output_root).resolve()).encode()).hexdigest()[:10]
    return Path(base) / ".snakemake-nights" / f"{paths.date}_{paths.prod_id}_{key}"


class SnakemakeRuns:
    @property
    def snakemake_dir(self) -> Path:
        """The night's working directory for Snakemake (its state in ``.snakemake`` below it)."""
        return night_snakemake_dir(self.s.base, self.paths)

    def command(self, failed: list[str], targets=(), extra=()) -> list[str]:
        cmd = [snakemake_bin(), *targets, "--snakefile", str(self.s.base / "Snakefile")]
        if self.snakemake_dir.is_dir():  # made by the first pass
            cmd += ["--directory", str(self.snakemake_dir)]
        if self.s.profile:
            profile = Path(self.s.profile)
            cmd += ["--profile", str(profile.resolve()) if profile.exists() else self.s.profile]
        if self.s.cores:
            cmd += ["--cores", str(self.s.cores)]
        if self.s.jobs:
            cmd += ["--jobs", str(self.s.jobs)]
        if self.s.config_file:
            cmd += ["--configfile", str(Path(self.s.config_file).resolve())]
        cmd += [*self.s.snakemake_args, *extra]
        cmd += ["--config", *(f"{k}={v}" for k, v in self.s.config_items(failed).items())]
        return cmd

    def pass_command(self, failed: list[str], targets=(), extra=()) -> list[str]:
        """The command of a Snakemake pass that works on the night (also lstosa-follow's cycles): its state
        in the night's own directory, made here."""
        self.snakemake_dir.mkdir(parents=True, exist_ok=True)
        return self.command(failed, targets, extra)

    def snakemake(self, failed: list[str], targets=(), extra=(), what="Snakemake") -> tuple[int | None, str]:
        """Run Snakemake into the log, following its progress there; returns (exit code or None on
        timeout, its output)."""
        cmd = self.pass_command(failed, targets, extra)
        self.say(f"{what}: {shlex.join(cmd)}")
        self.log_fh.flush()
        start = self.log_fh.tell()
        self.proc = subprocess.Popen(cmd, cwd=self.s.base, stdout=self.log_fh, stderr=subprocess.STDOUT,
                                     env=tool_env(self.s.base), start_new_session=True)
        tty = self.s.echo and sys.stdout.isatty()
        self.progress = Progress(what, self.say, sys.stdout if tty else None, self.s.progress_every)
        chunks = []
        with open(self.log_path, errors="replace") as reader:
            reader.seek(start)
            try:
                rc = None
                while rc is None:
                    try:
                        rc = self.proc.wait(timeout=1.0 if tty else min(5.0, self.s.progress_every))
                    except subprocess.TimeoutExpired:
                        if self.deadline is not None and time.monotonic() >= self.deadline:
                            break
                    chunks.append(reader.read())
                    self.progress.feed(chunks[-1])
                    self.progress.tick()
                if rc is None:
                    self.progress.clear()
                    self.say(f"timeout ({self.s.timeout:g} s): stopping Snakemake (SIGTERM, then SIGKILL after "
                             f"{self.s.kill_grace:g} s)")
                    self.stop()
                self.log_fh.flush()
                chunks.append(reader.read())
                self.progress.feed(chunks[-1])
            finally:
                self.progress, progress = None, self.progress
                progress.close()
        self.proc = None
        return rc, "".join(chunks)

    def dry_run(self, failed: list[str], targets=()) -> tuple[int | None, str]:
        """Snakemake's dry run, its output kept in memory: no log file, nothing written to the night.
        Exit code None: it did not finish within --timeout."""
        cmd = self.command(failed, targets, ["--dry-run"])
        remaining = None if self.deadline is None else max(1.0, self.deadline - time.monotonic())
        try:
            proc = subprocess.run(cmd, cwd=self.s.base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  errors="replace", env=tool_env(self.s.base), start_new_session=True,
                                  timeout=remaining)
        except subprocess.TimeoutExpired as exc:
            out = exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else (exc.output or "")
            return None, out
        return proc.returncode, proc.stdout

    def stop(self) -> None:
        """SIGTERM to Snakemake's process group (it cancels its jobs), SIGKILL if it lingers."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=self.s.kill_grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass

    def remove_stale_snakemake_locks(self) -> int:
        """Snakemake lock files naming this night's products are stale: we hold the night's lock.

        (A Snakemake killed with SIGKILL leaves its locks in the night's Snakemake directory; only those
        that name this night's products are removed, never a lock of another production's files.)
        """
        mine = (str(self.rdir) + os.sep, str(self.paths.dl1_dir) + os.sep, str(self.paths.dl2_dir) + os.sep)
        lockdir = self.snakemake_dir / ".snakemake" / "locks"
        removed = 0
        for out in lockdir.glob("*.output.lock"):
            try:
                keys = out.read_text().split("\n")
            except OSError:
                continue
            if any(k.startswith(mine) for k in keys):
                n = out.name.split(".")[0]
                for f in (out, lockdir / f"{n}.input.lock"):
                    f.unlink(missing_ok=True)
                removed += 1
        return removed

    def pass_(self, failed, targets=(), what="Snakemake", extra=()) -> int | None:
        rc, output = self.snakemake(failed, targets, extra, what=what)
        if rc not in (0, None) and ("LockException" in output or "cannot be locked" in output):
            n = self.remove_stale_snakemake_locks()
            if n:
                self.say(f"removed {n} stale Snakemake lock(s) of this night left by a killed run; retrying")
                rc, output = self.snakemake(failed, targets, extra, what=what)
        self.last_output = output
        return rc
