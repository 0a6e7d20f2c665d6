"""One night's processing from cron: ``lstosa-nightly [--date D] [--profile P] [--config K=V ...]``.

What one invocation does:

0. Before writing anything: refuses a command line without the site's configuration (--configfile
   or --data-root) and an invalid configuration (exit 2); a night without observations is "nothing
   to do" (exit 0), one whose DATA runs have no raw data is reported (exit 5) (``outlook``).
1. Picks the night (the previous evening by default) and takes the night's lock, a
   ``fcntl.flock`` on ``running_analysis/<date>/<prod>/.nightly.lock``. A second invocation for
   the same night and production says who holds it (PID, since when) and exits 0. The kernel
   drops the lock when the holder dies, so a crash never leaves a stale lock behind.
2. On a closed night (NightFinished.txt) compares its products with the manifest written at
   closing (``integrity``): lost or changed ones are named with the ``--repair`` command (exit 6).
   Otherwise asks Snakemake for a dry run (no log); nothing to do: says so and exits 0 without
   touching anything; a dry run that fails is a configuration error (exit 2).
3. Runs Snakemake (keep-going and rerun-incomplete come from the profile) under ``--timeout``;
   everything Snakemake prints goes to ``running_analysis/<date>/<prod>/log/nightly_<ts>.log``,
   followed there for the progress shown (``progress``).
   Interrupted nights resume: the next invocation re-runs what is missing or incomplete.
4. Failure policy: after a pass with failures it reads the runner's failure markers. A run
   whose share of successful sub-runs is at least ``close_min_success_fraction`` is closed without
   its failed sub-runs: Snakemake runs once more with ``failed_subruns`` set (the decision is
   kept in ``failure_policy.json`` so later invocations plan the run the same way, and the
   sub-runs are listed as failed in night_report.json). Runs below the threshold, and runs
   whose merge or datacheck failed, stay open and are reported; the next invocation retries them.
5. Notifies (``--notify-cmd`` / ``--notify-mail``) with a short summary when the night closes
   and when it ends open, timed out or in error.

Exit codes (also in docs/operations.md):
  0  the night is closed (now or already before), another invocation is processing it, the night
     has no observations, or only calibration runs (made)
  2  bad arguments or configuration (also: no site configuration, Snakemake refused to start)
  3  processed, but the night is still open (failed sub-runs/runs; see the summary and status)
  4  timeout: Snakemake was stopped after --timeout seconds; the next invocation resumes
  5  Snakemake failed without failure markers (see the log), or the DATA runs have no raw data
  6  the night is closed but products were lost or changed since: repair with --repair
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lstosa_snake.core.atomic import write_text as atomic_write_text
from lstosa_snake.core.errors import ConfigError, LstosaError
from lstosa_snake.jobs.integrity import closed_night_problems, damaged_products
from lstosa_snake.jobs.runner import disk_full_note
from lstosa_snake.night.dates import default_night, parse_night_date
from lstosa_snake.night.opsconfig import format_list, load_config, project_dir
from lstosa_snake.night.plan import night_paths, plan_night
from lstosa_snake.status.overview import (
    POLICY_FILE,
    night_status,
    night_failures,
    read_policy,
)

from . import slurm_jobs
from .night_summary_lines import end_summary
from .nightly_checks import (
    EXIT_DAMAGED,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_OPEN,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    NightChecks,
    NightResult,
)
from .notify import notify
from .opscli import add_common_arguments, common_settings, join_option_values
from .outlook import CALIBRATION_ONLY, check_config
from .policy import decide, updated_policy
from .production import NightLock, write_manifest
from .progress import error_line
from .smkrun import tool_env

# what lstosa-reprocess and lstosa-follow use from here (some of it lives in the modules imported above)
__all__ = ["EXIT_OK", "EXIT_USAGE", "EXIT_OPEN", "EXIT_TIMEOUT", "EXIT_ERROR", "EXIT_DAMAGED", "Settings",
           "NightResult", "Night", "NightLock", "add_common_arguments", "common_settings", "join_option_values",
           "tool_env", "main"]


# --------------------------------------------------------------------------- settings


@dataclass
class Settings:
    date: dt.date
    base: Path
    overrides: dict[str, str] = field(default_factory=dict)  # --config KEY=VALUE (text)
    profile: str | None = None
    cores: str | None = None
    jobs: str | None = None
    timeout: float | None = None  # seconds for the whole invocation
    kill_grace: float = 60.0
    notify_cmd: str | None = None
    notify_mail: str | None = None
    snakemake_args: list[str] = field(default_factory=list)
    kind: str = "nightly"  # or "reprocess": recorded in the production manifest
    echo: bool = True
    config_file: str | None = None  # the site's YAML over config/config.yaml (--configfile)
    repair: bool = False  # closed night: rebuild its missing or changed products
    progress_every: float = 600.0  # not on a terminal: a progress line this often (seconds)

    def config(self, failed: list[str] | None = None) -> dict:
        items = dict(self.overrides)
        items["date"] = self.date.isoformat()
        if failed:
            items["failed_subruns"] = format_list(failed)
        return load_config(self.base, self.config_file, items)

    def config_items(self, failed: list[str]) -> dict[str, str]:
        items = {"date": self.date.isoformat(), **self.overrides}
        if failed:
            items["failed_subruns"] = format_list(failed)
        return items


class Night(NightChecks):
    """The processing of one night under its lock; see the module docstring (the checks before it:
    nightly_checks)."""

    def __init__(self, settings: Settings):
        self.s = settings
        self.config = settings.config()
        self.paths = night_paths(self.config, settings.base)
        self.rdir = self.paths.running_dir
        self.log_path = None
        self.log_fh = None
        self.log_broken = False
        self.t0 = time.monotonic()
        self.deadline = None if not settings.timeout else self.t0 + float(settings.timeout)
        self.proc = None
        self.progress = None  # of the Snakemake pass under way
        self.last_output = ""
        self.outlook = None
        self.notes: list[str] = []  # said before the log was opened: repeated into it
        self.repaired: list[str] = []  # --repair: the products rebuilt

    # ---- messages
    def say(self, text: str) -> None:
        line = f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M:%S')} lstosa-nightly: {text}"
        if self.s.echo:
            if self.progress:
                self.progress.clear()
            print(line, flush=True)
        if self.log_fh and not self.log_broken:
            try:
                self.log_fh.write(line + "\n")
                self.log_fh.flush()
            except OSError as exc:  # e.g. the output disk is full: keep going, say it once
                self.log_broken = True
                print(f"lstosa-nightly: cannot write the log {self.log_path}: {exc.strerror}", flush=True)

    # ---- the night
    def run(self) -> NightResult:
        s = self.s
        prod = self.paths.prod_id
        result = NightResult(str(self.paths.night), prod, "error", EXIT_ERROR)
        check_config(self.config, s.base)  # ConfigError: refused in one line, nothing written
        if s.repair and not self.paths.night_finished.exists():
            raise ConfigError(f"--repair: night {self.paths.night} prod {prod} is not closed "
                              f"({self.paths.night_finished} does not exist): run without --repair to process it")
        if not self.paths.night_finished.exists() and self.before_lock(result):
            return result
        lock = NightLock(self.rdir / ".nightly.lock")
        if not lock.acquire():
            h = lock.holder()
            result.state, result.exit_code = "busy", EXIT_OK
            result.summary = (f"night {self.paths.night} (prod {prod}) is being processed by PID "
                              f"{h.get('pid', '?')} on {h.get('host', '?')} since {h.get('since', '?')}: "
                              "nothing done")
            if s.echo:
                print(f"lstosa-nightly: {result.summary}", flush=True)
            return result
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}

        def on_signal(signum, frame):  # stop Snakemake too when cron or an operator stops us
            self.say(f"received signal {signum}: stopping Snakemake")
            self.stop()
            raise SystemExit(128 + signum)

        try:
            for sig in previous:
                signal.signal(sig, on_signal)
            if self.paths.night_finished.exists() and self.closed_night(result):
                return result
            stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
            self.log_path = self.paths.log(f"nightly_{stamp}.log")
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self.log_fh = open(self.log_path, "a")
            result.log = str(self.log_path)
            self.say(f"night {self.paths.night} prod {prod}: log {self.log_path}")
            for note in self.notes:
                self.log_fh.write(f"(before the log was opened) {note}\n")
            write_manifest(self.rdir, self.config, s.base, s.kind)
            self.cancel_orphans()
            self.process(result)
        except OSError as exc:  # the work area cannot be written (disk full, read-only, permissions)
            result.state, result.exit_code = "error", EXIT_ERROR
            result.summary = f"night {self.paths.night} prod {prod}: ERROR: {exc}{disk_full_note(self.rdir)}"
            self.say(result.summary)
            notify(self.s, result, self.say)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            result.seconds = time.monotonic() - self.t0
            if self.log_fh:
                self.say(f"finished: {result.state} (exit {result.exit_code}) in {result.seconds:.0f} s")
                try:
                    self.log_fh.close()
                except OSError:
                    pass
                self.log_fh = None
            lock.release()
        return result

    def cancel_orphans(self) -> None:
        """SLURM jobs of an earlier, killed run of this night (we hold its lock): cancel them."""
        earlier = [p for p in self.log_path.parent.glob("nightly_*.log") if p != self.log_path]
        ids = slurm_jobs.orphans(earlier) if earlier and shutil.which("squeue") else []
        if ids:
            ok = slurm_jobs.cancel(ids)
            self.say(f"{'cancelled' if ok else 'could not cancel'} {len(ids)} SLURM job(s) left queued or running by "
                     f"an earlier, killed run of this night ({', '.join(ids)}): their jobs are redone")

    def repair(self, failed: list[str]) -> int | None:
        """Rebuild exactly the missing or changed products (and what depends on them: the night's
        report, page and manifest); Snakemake alone would not: an existing report hides them."""
        missing, changed = damaged_products(self.paths)
        self.repaired = [p.name for p in missing + changed]
        self.say(f"repairing: {len(missing)} missing, {len(changed)} changed product(s): "
                 + ", ".join(p.name for p in (missing + changed)[:10]) + (" ..." if len(missing + changed) > 10 else ""))
        targets = ["all", *(str(p) for p in missing + changed)]
        extra = ["--forcerun", *(str(p) for p in changed)] if changed else []
        return self.pass_(failed, targets, what="repair", extra=extra)

    def process(self, result: NightResult) -> None:
        failed = self.persisted_failed()
        if self.s.repair and self.paths.night_finished.exists():
            rc = self.repair(failed)
        else:
            rc = self.pass_(failed, what="pass 1")
        if rc is None:
            return self.finish(result, "timeout")
        if rc == 0 and self.outlook is not None and self.outlook.kind == CALIBRATION_ONLY:
            result.state, result.exit_code = "calibration-only", EXIT_OK
            result.summary = f"{self.outlook.message}: calibration made, nothing else to do"
            self.say(result.summary)
            return
        if rc != 0 and not night_failures(self.paths) and "Building DAG of jobs" not in self.last_output:
            # Snakemake stopped while reading the workflow, before any job: the one line, not "see the log".
            # The workflow's own refusals are about the night's data (drive log, calibration): an error to
            # notify; anything else (Snakemake options, profile, the configuration) is a configuration error.
            reason = error_line(self.last_output)
            if "lstosa-snake: ERROR:" not in self.last_output or reason.startswith("invalid configuration"):
                raise ConfigError(f"night {self.paths.night} prod {self.paths.prod_id}: Snakemake refused to start: "
                                  f"{reason} (log: {self.log_path})")
            self.say(f"the workflow refused the night: {reason}")
            return self.finish(result, "error")
        if rc != 0 or not self.paths.night_finished.exists():
            decision = self.apply_policy(failed)
            if decision is None:
                return self.finish(result, "error")
            closable, targets = decision
            if closable:
                failed = self.persisted_failed()
                rc = self.pass_(failed, targets, what="pass 2 (closing runs without their failed sub-runs)")
                if rc is None:
                    return self.finish(result, "timeout")
        self.finish(result, "closed" if self.paths.night_finished.exists() else "open")

    def apply_policy(self, failed: list[str]):
        """Decide which runs close without their failed sub-runs; None when nothing is known to have failed."""
        config = self.s.config(failed)
        try:
            plan = plan_night(config, self.s.base)
        except LstosaError as exc:
            self.say(f"no night plan after the pass: {exc}")
            return None
        failures = night_failures(self.paths)
        if not failures:
            self.say("Snakemake failed and no job left a failure marker: see the log")
            return None
        threshold = float(config.get("close_min_success_fraction", 1.0))
        decision = decide(plan.runs, failures, threshold)
        for line in decision.messages:
            self.say(line)
        policy = updated_policy(read_policy(self.rdir), decision, threshold)
        atomic_write_text(self.rdir / POLICY_FILE, json.dumps(policy, indent=1) + "\n")
        closable = decision.closable
        if not closable:
            return {}, ()
        if decision.open_runs or decision.others:  # the night cannot close: close just these runs
            p = self.paths
            targets = [str(f) for r in sorted(closable) for f in (p.dl1_run(r), p.dl2_run(r), p.muons_run(r),
                                                                   p.datacheck_run_pdf(r))]
        else:
            targets = ()
        return closable, targets

    def finish(self, result: NightResult, state: str) -> None:
        codes = {"closed": EXIT_OK, "open": EXIT_OPEN, "timeout": EXIT_TIMEOUT, "error": EXIT_ERROR,
                 "damaged": EXIT_DAMAGED}
        damage = closed_night_problems(self.paths, limit=15) if state == "closed" else []
        if damage:  # e.g. a repair that could not rebuild everything
            state = "damaged"
        result.state, result.exit_code = state, codes[state]
        try:
            st = night_status(self.s.config(self.persisted_failed()), self.s.base)
        except LstosaError as exc:
            st = {"sequences": [], "problems": [str(exc)], "open_runs": []}
        end = end_summary(self.paths, state, st, read_policy(self.rdir), repaired=self.repaired, damage=damage,
                          disk_full=disk_full_note(self.rdir), timeout=self.s.timeout, log_path=self.log_path,
                          repair_args=self.cli_args())
        result.runs_closed, result.runs_open, result.failed_subruns = end.runs_closed, end.runs_open, end.failed_subruns
        result.summary = "\n".join(end.lines)
        for line in end.lines:
            self.say(line)
        notify(self.s, result, self.say)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lstosa-nightly", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__[__doc__.index("Exit codes"):],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--date", help="night (YYYY-MM-DD or YYYYMMDD); default: the previous evening (UTC)")
    parser.add_argument("--prod-id", help="production id (config prod_id)")
    parser.add_argument("--repair", action="store_true",
                        help="closed night: rebuild exactly its products missing or changed since closing")
    add_common_arguments(parser)
    args = parser.parse_args(join_option_values(sys.argv[1:] if argv is None else list(argv)))
    try:
        night = parse_night_date(args.date) if args.date else default_night()
        kwargs, dry = common_settings(args, "lstosa-nightly")
        settings = Settings(date=night, base=project_dir(), repair=args.repair, **kwargs)
        result = Night(settings).plan_only() if dry else Night(settings).run()
    except (ConfigError, LstosaError) as exc:
        print(f"lstosa-nightly: ERROR: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
