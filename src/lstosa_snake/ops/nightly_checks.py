"""lstosa-nightly's checks before it processes a night, and what an invocation returns.

``NightChecks`` holds what is decided without writing anything: a night with nothing to process or
without raw data (before the lock), a closed night that is damaged or has nothing to do, and the
``--dry-run`` report. ``nightly.Night`` processes the night on top of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lstosa_snake.core.errors import ConfigError, LstosaError
from lstosa_snake.jobs.integrity import closed_night_problems
from lstosa_snake.status.overview import read_policy

from .night_summary_lines import roots_args
from .notify import notify
from .outlook import EMPTY, MISSING_RAW, check_config, night_outlook
from .progress import error_line, job_stats
from .smkrun import SnakemakeRuns

EXIT_OK, EXIT_USAGE, EXIT_OPEN, EXIT_TIMEOUT, EXIT_ERROR, EXIT_DAMAGED = 0, 2, 3, 4, 5, 6
NOTHING_TO_DO = "Nothing to be done"


@dataclass
class NightResult:
    date: str
    prod_id: str
    state: str  # closed | already-closed | busy | open | timeout | error
    exit_code: int
    summary: str = ""
    log: str | None = None
    seconds: float = 0.0
    runs_closed: list[int] = field(default_factory=list)
    runs_open: dict[int, str] = field(default_factory=dict)
    failed_subruns: dict[int, list[int]] = field(default_factory=dict)


class NightChecks(SnakemakeRuns):
    """The read-only decisions about a night (see the module docstring); ``nightly.Night`` sets
    ``s`` (Settings), ``config``, ``paths``, ``rdir``, ``outlook``, ``notes`` and ``say``."""

    def persisted_failed(self) -> list[str]:
        keep = set(self.config.get("failed_subruns") or []) | set(read_policy(self.rdir).get("failed_subruns") or [])
        return sorted(keep)

    def plan_only(self) -> NightResult:
        """--dry-run: what would run, from Snakemake's dry run. Writes nothing (no lock, no log)."""
        p = self.paths
        result = NightResult(str(p.night), p.prod_id, "dry-run", EXIT_OK)
        check_config(self.config, self.s.base)
        lines = []
        if not p.night_finished.exists():
            outlook = night_outlook(self.config, self.s.base)
            if outlook.kind in (EMPTY, MISSING_RAW):
                result.exit_code = EXIT_OK if outlook.kind == EMPTY else EXIT_ERROR
                result.summary = f"dry run: {outlook.message}"
                self.say(result.summary)
                return result
        else:
            problems = closed_night_problems(p, limit=20)
            if problems:
                lines += [f"closed night with {len(problems)} product problem(s) (lstosa-nightly --repair):",
                          *(f"  {x}" for x in problems)]
        rc, output = self.dry_run(self.persisted_failed())
        if rc is None:
            raise LstosaError(f"night {p.night} prod {p.prod_id}: the dry run did not finish within --timeout "
                              f"{self.s.timeout:g} s")
        if rc != 0:
            raise ConfigError(f"night {p.night} prod {p.prod_id}: Snakemake refused to start: {error_line(output)}")
        stats = {k: v for k, v in job_stats(output).items() if k != "all"}
        if NOTHING_TO_DO in output or not stats:
            lines.insert(0, f"dry run: night {p.night} prod {p.prod_id}: nothing to do")
        else:
            lines.insert(0, f"dry run: night {p.night} prod {p.prod_id}: would run {sum(stats.values())} job(s): "
                         + ", ".join(f"{k} {v}" for k, v in stats.items()))
        result.summary = "\n".join(lines)
        for line in lines:
            self.say(line)
        return result

    def before_lock(self, result: NightResult) -> bool:
        """A night with nothing to process, or whose DATA runs have no raw data: say so and touch
        nothing (no lock, no log, no directory). True when the invocation ends here."""
        self.outlook = night_outlook(self.config, self.s.base)
        if self.outlook.kind == EMPTY:
            result.state, result.exit_code, result.summary = "no-data", EXIT_OK, self.outlook.message
        elif self.outlook.kind == MISSING_RAW:
            result.state, result.exit_code, result.summary = "error", EXIT_ERROR, (
                f"{self.outlook.message}: nothing processed (raw files not yet copied, or lost?)")
        else:
            return False
        self.say(result.summary)
        if result.exit_code != EXIT_OK:
            notify(self.s, result, self.say)
        return True

    def closed_night(self, result: NightResult) -> bool:
        """A closed night, before any log is opened: damaged (products missing or changed), intact
        with nothing to do, or work to do (then False: it is processed). Only the last writes."""
        p = self.paths
        problems = closed_night_problems(p, limit=20)
        if problems and self.s.repair:
            return False
        if problems:
            result.state, result.exit_code = "damaged", EXIT_DAMAGED
            lines = [f"night {p.night} prod {p.prod_id}: CLOSED, but {len(problems)} product problem(s) since "
                     "it was closed:", *(f"  {x}" for x in problems),
                     f"repair (rebuilds exactly these, keeps the rest): lstosa-nightly --repair{self.cli_args()}"]
            result.summary = "\n".join(lines)
            for line in lines:
                self.say(line)
            notify(self.s, result, self.say)
            return True
        if self.s.repair:
            self.say(f"night {p.night} prod {p.prod_id}: every product recorded at closing is intact: nothing to repair")
        rc, output = self.dry_run(self.persisted_failed())
        if rc is None:  # nothing was done: the next invocation checks again
            result.state, result.exit_code = "timeout", EXIT_TIMEOUT
            result.summary = (f"night {p.night} prod {p.prod_id} (closed): Snakemake's dry run did not finish "
                              f"within --timeout {self.s.timeout:g} s: nothing done")
            self.say(result.summary)
            return True
        if rc != 0:
            raise ConfigError(f"night {p.night} prod {p.prod_id} (closed): Snakemake refused to start: "
                              f"{error_line(output)} (nothing done)")
        if NOTHING_TO_DO in output:
            result.state, result.exit_code = "already-closed", EXIT_OK
            result.summary = (f"night {p.night} (prod {p.prod_id}) is already closed ({p.night_finished}) and "
                              "Snakemake has nothing to do: nothing done")
            self.say(result.summary)
            return True
        jobs = ", ".join(f"{k} {v}" for k, v in job_stats(output).items())
        note = f"the night is marked closed but Snakemake has work to do ({jobs or 'see the log'}): resuming"
        self.say(note)
        self.notes.append(note)
        return False

    def cli_args(self) -> str:
        """--date ... --prod-id ... and the roots, for the commands the summary suggests."""
        p = self.paths
        return (f" --date {p.date} --prod-id {p.prod_id}"
                + (f" --configfile {self.s.config_file}" if self.s.config_file else "") + roots_args(p))
