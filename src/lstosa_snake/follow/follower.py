"""``lstosa-follow``: process the night while it is being observed.

Every ``--cycle`` seconds it looks at ``R0/<date>/`` (one listing with sizes), and when something
changed:

1. probes each new run once (``lstosa-probe-run``: lstchain's run-summary functions on its first
   sub-run) and rewrites the night's RunSummary with the sub-runs complete so far
   (:mod:`lstosa_snake.follow.summary`; which files are complete: :mod:`lstosa_snake.follow.rawwatch`);
2. runs Snakemake (locally or ``--profile slurm``) for what is ready: every complete sub-run's DL1
   (and its datacheck and DL2 when DL1b is off: with DL1b they need the run's tail cuts, from all its
   sub-runs), and for every run that has ended its DL1b, merges, run datacheck and plots;
3. renders the night page with each run's state (taking data / processing / done / failed) and
   publishes it, as the closing does.

Calibration: DRS4 and CALI runs enter the summary once they have ended; DATA runs wait until the night
has a complete DRS4 + CALI pair (then the pair the morning run would choose is known: the closest
before, else the first after). A night that has none by its end borrows at the handover, as the
morning run does. Only ``calibration_policy: closest_before`` can be followed (``last_of_night`` needs
the whole night).

At the end of the night (``--night-end``, default 07:00 UTC the next morning) it hands over to
``lstosa-nightly`` with the same options, which closes the night. It holds the night's lock between
cycles' work, keeps its state in ``running_analysis/<date>/<prod_id>/follow/`` and resumes after
being killed. An idle cycle costs one directory listing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

from lstosa_snake.core import atomic
from lstosa_snake.core.errors import ConfigError, LstosaError
from lstosa_snake.night.dates import default_night, parse_night_date
from lstosa_snake.night.opsconfig import project_dir
from lstosa_snake.night.plan import resolve
from lstosa_snake.ops.nightly import (
    EXIT_OK,
    EXIT_OPEN,
    EXIT_USAGE,
    Night,
    NightLock,
    Settings,
    add_common_arguments,
    common_settings,
    join_option_values,
    tool_env,
)

from .rawwatch import RawWatch
from .summary import ProbeError, probe_runs, render, write_if_changed

CALIBRATION_TYPES = ("DRS4", "PEDCALIB")


def summary_runs(rows: dict[int, dict], watch: RawWatch, night_over: bool) -> dict[int, int]:
    """run -> sub-runs to list in the summary now (see the module docstring for the rules)."""
    out: dict[int, int] = {}
    ended_types = {rows[r]["run_type"] for r in rows if watch.runs[r].ended}
    have_pair = all(t in ended_types for t in CALIBRATION_TYPES)
    for run, row in rows.items():
        view = watch.runs[run]
        complete = len(view.complete_subruns())
        if row["run_type"] == "DATA":
            if complete and (have_pair or night_over):
                out[run] = complete
        elif view.ended and complete:
            out[run] = complete
    return out


def targets(paths, summary: dict[int, int], rows: dict[int, dict], watch: RawWatch, plots_dir: Path,
            dl1b: bool = True) -> list[str]:
    """What Snakemake is asked for this cycle: per sub-run products, and per run once it has ended.

    With DL1b (the default) a run's tail cuts come from all its sub-runs, and the sub-runs' datacheck and
    DL2 read the DL1b files: before the run has ended only its DL1a (r0_to_dl1) can be made."""
    out = []
    for run, n in sorted(summary.items()):
        if rows[run]["run_type"] != "DATA":
            continue
        if watch.runs[run].ended:
            out += [str(paths.dl1_run(run)), str(paths.dl2_run(run)), str(paths.muons_run(run)),
                    str(paths.datacheck_run_pdf(run)), str(plots_dir / f"Run{run:05d}" / "plots.json")]
        else:
            for s in range(n):
                out += [str(paths.dl1_subrun(run, s))] if dl1b else [str(paths.dl2_subrun(run, s)),
                                                                      str(paths.datacheck_subrun(run, s))]
    return out


def run_states(summary: dict[int, int], rows: dict[int, dict], watch: RawWatch, paths, failed_runs: set[int]):
    """Per run: taking data / waiting for calibration / processing / done / failed (for the page)."""
    states = {}
    for run, row in sorted(rows.items()):
        view = watch.runs[run]
        if not view.ended:
            state = "taking data"
        elif row["run_type"] != "DATA":
            state = "calibration run"
        elif run in failed_runs:
            state = "failed"
        elif paths.dl2_run(run).is_file() and paths.datacheck_run_pdf(run).is_file():
            state = "done"
        else:
            state = "processing" if run in summary else "waiting for calibration"
        states[run] = {"state": state, "type": row["run_type"], "complete_subruns": len(view.complete_subruns())}
    return states


class Follower:
    """One night followed: state on disk, one cycle at a time."""

    def __init__(self, settings: Settings, cycle_s: float, quiet_s: float, night_end: dt.datetime, echo=print):
        self.night = Night(settings)
        self.config, self.paths = self.night.config, self.night.paths
        if self.config.get("calibration_policy", "closest_before") != "closest_before":
            raise ConfigError("lstosa-follow needs calibration_policy closest_before (last_of_night needs the "
                              "whole night)")
        self.cycle_s, self.night_end, self.echo = cycle_s, night_end, echo
        self.dir = self.paths.running_dir / "follow"
        self.tools_bin = resolve(self.config["tools_bin"], settings.base)
        self.plots_dir = self.paths.dl1_dir / "datacheck" / "plots"
        self.watch = RawWatch(self.paths.r0_dir, quiet_s)
        self.rows: dict[int, dict] = {}
        self.failed_runs: set[int] = set()
        self.cycles = self.busy_cycles = 0
        self.night_over = False
        self.last_states: dict = {}
        self.idle_cpu: list[float] = []  # CPU seconds of each idle cycle (benchmarks/follow_bench.py)
        self.done_at: dict[int, float] = {}  # run -> when its run-level products were first all there
        self.snakemake_times: list[tuple[float, float]] = []  # (start, end) of each cycle's Snakemake
        self.load()

    # ---- state
    def load(self) -> None:
        try:
            state = json.loads((self.dir / "state.json").read_text())
        except (OSError, ValueError):
            return
        self.watch.restore(state.get("runs", {}))
        self.watch.restore_files()
        self.rows = {int(r): row for r, row in state.get("rows", {}).items()}
        self.failed_runs = set(state.get("failed_runs", []))
        self.done_at = {int(r): t for r, t in state.get("done_at", {}).items()}
        self.snakemake_times = [tuple(t) for t in state.get("snakemake_times", [])]

    def save(self, states: dict) -> None:
        atomic.write_json(self.dir / "state.json", {
            "updated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "runs": self.watch.state(), "rows": {str(r): v for r, v in self.rows.items()},
            "failed_runs": sorted(self.failed_runs), "run_states": {str(r): v for r, v in states.items()},
            "cycles": self.cycles, "busy_cycles": self.busy_cycles,
            "idle_cpu_s": {"n": len(self.idle_cpu), "max": round(max(self.idle_cpu, default=0.0), 4),
                           "mean": round(sum(self.idle_cpu) / len(self.idle_cpu), 4) if self.idle_cpu else 0.0},
            "done_at": {str(r): t for r, t in self.done_at.items()},
            "snakemake_times": self.snakemake_times[-500:],
        })

    # ---- one cycle
    def cycle(self, now: float, night_over: bool) -> bool:
        """Returns True if it did work (probe, Snakemake, page)."""
        self.cycles += 1
        cpu0 = time.process_time()
        changed = self.watch.look(now, night_over)
        if not changed and self.cycles > 1:
            self.idle_cpu.append(time.process_time() - cpu0)
            self.save(self.last_states)  # a small atomic JSON write: the idle figures stay current
            return False
        self.busy_cycles += 1
        new = [r for r, v in self.watch.runs.items() if r not in self.rows and 0 in v.complete_subruns()]
        if new:
            self.rows.update(probe_runs(self.tools_bin, self.paths.r0_dir, new))
            names = ", ".join(f"{r:05d} {self.rows[r]['run_type']}" for r in sorted(new))
            self.echo(f"new runs: {names}")
        summary = summary_runs(self.rows, self.watch, night_over)
        if summary:
            text = render(self.paths.night, self.rows, summary)
            write_if_changed(self.paths.created_run_summary, text)
            wanted = targets(self.paths, summary, self.rows, self.watch, self.plots_dir,
                             bool(self.config.get("dl1ab", True)))
            if wanted:
                self.snakemake(wanted)
        states = self.last_states = run_states(summary, self.rows, self.watch, self.paths, self.failed_runs)
        for run, st in states.items():
            if st["state"] == "done":
                self.done_at.setdefault(run, time.time())
        self.save(states)
        self.page()
        return True

    def snakemake(self, wanted: list[str]) -> None:
        cmd = self.night.pass_command([], wanted, ["--keep-going", "--rerun-incomplete"])
        log = self.dir / f"snakemake.cycle{self.cycles:04d}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        start = time.time()
        with open(log, "w") as fh:
            rc = subprocess.run(cmd, cwd=self.night.s.base, stdout=fh, stderr=subprocess.STDOUT,
                                env=tool_env(self.night.s.base), preexec_fn=_stop_with_parent).returncode
        self.snakemake_times.append((start, time.time()))  # benchmarks/follow_bench.py: processing time
        done = sum(1 for t in wanted if Path(t).is_file())
        self.echo(f"cycle {self.cycles}: {done}/{len(wanted)} products ready (Snakemake exit {rc}, log {log})")
        # a run is failed while its last attempt left its run products missing; a later cycle may fix it
        for run in {int(Path(t).name.split("Run")[1][:5]) for t in wanted if ".Run" in Path(t).name}:
            if not self.watch.runs[run].ended:
                continue
            if rc != 0 and not (self.paths.dl2_run(run).is_file() and self.paths.datacheck_run_pdf(run).is_file()):
                self.failed_runs.add(run)
            else:
                self.failed_runs.discard(run)

    def page(self) -> None:
        """The night page with the runs so far (same builder as the closing's night_page)."""
        from lstosa_snake.web.datacheck import build_night_dir, publish_night  # noqa: PLC0415 (jinja2 only here)

        web_root = self.paths.output_root / "datacheck_web" / self.paths.prod_id
        manifests = sorted(self.plots_dir.glob("Run*/plots.json"))
        pdfs = sorted(self.paths.dl1_dir.glob("datacheck/datacheck_dl1_LST-1.Run*.pdf"))
        try:
            build_night_dir(self.config, self.night.s.base, web_root, manifests, pdfs)
        except LstosaError as exc:  # e.g. no summary yet: the page waits for the first run
            self.echo(f"night page not updated: {exc}")
            return
        url = self.config.get("datacheck_url")
        publish_night(web_root, self.paths.date, f"{url.rstrip('/')}/{self.paths.prod_id}/" if url else "",
                      self.paths.running_dir / "publish_datacheck.json")

    def quiet_since(self) -> float | None:
        """When a raw file last changed, if every run seen has ended (else None)."""
        runs = self.watch.runs.values()
        if not runs or not all(v.ended for v in runs):
            return None
        return max(v.last_change for v in runs)

    def follow(self, max_cycles: int | None = None, clock=time.time, sleep=time.sleep,
               night_end_quiet: float | None = None) -> None:
        while True:
            now = clock()
            quiet = self.quiet_since()
            night_over = now >= self.night_end.timestamp() or (
                night_end_quiet is not None and quiet is not None and now - quiet >= night_end_quiet)
            self.night_over = night_over
            self.cycle(now, night_over)
            if night_over or (max_cycles is not None and self.cycles >= max_cycles):
                states = run_states(summary_runs(self.rows, self.watch, night_over), self.rows, self.watch,
                                    self.paths, self.failed_runs)
                self.save(states)
                return
            sleep(self.cycle_s)


def _stop_with_parent() -> None:
    """In the Snakemake child: SIGTERM when lstosa-follow dies, even by SIGKILL (Linux), so that it cancels
    its jobs and releases its locks; the restarted lstosa-follow then finds the night as it was left."""
    import ctypes  # noqa: PLC0415
    import signal  # noqa: PLC0415

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def default_night_end(night: dt.date) -> dt.datetime:
    return dt.datetime.combine(night + dt.timedelta(days=1), dt.time(7, 0), tzinfo=dt.timezone.utc)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lstosa-follow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--date", help="night (YYYY-MM-DD or YYYYMMDD); default: the previous evening (UTC)")
    parser.add_argument("--prod-id", help="production id (config prod_id)")
    parser.add_argument("--cycle", type=float, default=60.0, metavar="SECONDS", help="look every (default 60)")
    parser.add_argument("--run-end-quiet", type=float, default=300.0, metavar="SECONDS",
                        help="a run whose files did not change this long has ended (default 300)")
    parser.add_argument("--night-end", metavar="ISO-TIME",
                        help="end of the night, UTC (default: 07:00 the next morning); then hand over")
    parser.add_argument("--night-end-quiet", type=float, metavar="SECONDS",
                        help="the night has also ended when every run has ended and no raw file changed this long")
    parser.add_argument("--max-cycles", type=int, help="stop after this many cycles (tests, demos)")
    parser.add_argument("--no-handover", action="store_true", help="at the end, do not run lstosa-nightly")
    add_common_arguments(parser)
    args = parser.parse_args(join_option_values(sys.argv[1:] if argv is None else list(argv)))
    try:
        night = parse_night_date(args.date) if args.date else default_night()
        kwargs, dry = common_settings(args, "lstosa-follow")
        if dry:
            raise ConfigError("lstosa-follow has no dry run: use lstosa-nightly --dry-run")
        settings = Settings(date=night, base=project_dir(), **kwargs)
        if args.prod_id:
            settings.overrides["prod_id"] = args.prod_id
        end = (dt.datetime.fromisoformat(args.night_end).replace(tzinfo=dt.timezone.utc) if args.night_end
               else default_night_end(night))
        say = lambda text: print(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} lstosa-follow: {text}", flush=True)  # noqa: E731
        follower = Follower(settings, args.cycle, args.run_end_quiet, end, say)
        lock = NightLock(follower.paths.running_dir / ".nightly.lock")
        if not lock.acquire():
            say(f"night {night} is being processed by {lock.holder()}: not following")
            return EXIT_OPEN
        try:
            follower.follow(args.max_cycles, night_end_quiet=args.night_end_quiet)
        except ProbeError as exc:
            say(f"ERROR: {exc}")
            return 5
        finally:
            lock.release()
    except (ConfigError, LstosaError, ValueError) as exc:
        print(f"lstosa-follow: ERROR: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.no_handover or not follower.night_over:
        return EXIT_OK
    say("end of the night: handing over to lstosa-nightly")
    from lstosa_snake.ops.nightly import main as nightly_main  # noqa: PLC0415

    return nightly_main(nightly_args(sys.argv[1:] if argv is None else list(argv)))


FOLLOW_ONLY = {"--cycle": 1, "--run-end-quiet": 1, "--night-end": 1, "--night-end-quiet": 1, "--max-cycles": 1,
               "--no-handover": 0}


def nightly_args(argv: list[str]) -> list[str]:
    """The command line minus lstosa-follow's own options (with their values)."""
    out, skip = [], 0
    for arg in argv:
        if skip:
            skip -= 1
            continue
        name = arg.split("=", 1)[0]
        if name in FOLLOW_ONLY:
            skip = FOLLOW_ONLY[name] if "=" not in arg else 0
            continue
        out.append(arg)
    return out


if __name__ == "__main__":
    sys.exit(main())
