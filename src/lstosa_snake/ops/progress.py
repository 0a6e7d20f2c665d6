"""Progress of a Snakemake pass, read from its output as it is written to the night's log.

Snakemake prints a "Job stats" table (jobs per rule) when it has built the DAG, then per finished
job ``Finished jobid: 12 (Rule: r0_to_dl1)`` and ``17 of 35 steps (49%) done``. From these:

* on a terminal, one status line redrawn in place (at most once a second): jobs done/total,
  the stages still under way with their counts, and an ETA from the rate so far;
* otherwise (cron, a log file) a line per finished stage and one every ``every`` seconds, so that
  the log is quiet but shows where a long night stands.

Also the one-line reason of a failed Snakemake start (``error_line``) and the job counts of a dry
run (``job_stats``).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable

_STEPS = re.compile(r"^(\d+) of (\d+) steps \(\d+%\) done", re.M)
_FINISHED = re.compile(r"^Finished jobid: \d+ \(Rule: ([\w.-]+)\)", re.M)
_STATS_ROW = re.compile(r"^([\w.-]+)\s+(\d+)\s*$")
#: rules that are bookkeeping, not a stage an operator waits for
HIDDEN = {"all"}


def job_stats(text: str) -> dict[str, int]:
    """{rule: jobs} of the last "Job stats:" table in Snakemake's output (no 'total')."""
    stats: dict[str, int] = {}
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == "Job stats:"]
    if not starts:
        return stats
    for line in lines[starts[-1] + 1:]:
        m = _STATS_ROW.match(line.strip())
        if line.strip().startswith(("job ", "---")):
            continue
        if not m:
            break
        if m.group(1) == "total":
            break
        stats[m.group(1)] = int(m.group(2))
    return stats


def error_line(text: str) -> str:
    """The one line that says why Snakemake stopped: our workflow's own ERROR line, else the first
    Snakemake error with its message."""
    lines = [line.strip() for line in text.splitlines()]
    for line in lines:
        if line.startswith("lstosa-snake: ERROR:"):
            return line.split("ERROR:", 1)[1].strip()
    for i, line in enumerate(lines):
        if re.match(r"^\w*(Error|Exception)\b", line):
            rest = next((x for x in lines[i + 1:] if x), "")
            return f"{line} {rest}".strip()[:400]
    tail = [x for x in lines if x]
    return tail[-1][:400] if tail else "Snakemake failed without output"


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "ETA ?"
    if seconds < 60:
        return "ETA <1 min"
    minutes = round(seconds / 60)
    return f"ETA {minutes} min" if minutes < 60 else f"ETA {minutes // 60} h {minutes % 60:02d} min"


class Progress:
    """Feed it Snakemake's output (``feed``), call ``tick`` now and then, ``close`` at the end."""

    def __init__(self, what: str, emit: Callable[[str], None], stream=None, every: float = 600.0,
                 clock: Callable[[], float] = time.monotonic):
        self.what = what
        self.emit = emit  # a line for the log (and the terminal when not a tty)
        self.stream = stream  # a terminal: the redrawn status line goes there
        self.every = every
        self.clock = clock
        self.t0 = clock()
        self.last_line = self.t0
        self.last_draw = 0.0
        self.drawn = False
        self.buffer = ""
        self.text_since_stats = ""
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {}
        self.steps_done = 0
        self.steps_total = 0

    # ---- reading
    def feed(self, text: str) -> None:
        if not text:
            return
        self.buffer += text
        complete, _, self.buffer = self.buffer.rpartition("\n")
        if not complete:
            return
        if "Job stats:" in complete or self.text_since_stats:
            # the table may arrive in pieces: keep the text from its start until it is complete
            self.text_since_stats += complete + "\n"
            stats = job_stats(self.text_since_stats)
            if stats and re.search(r"^\s*total\s+\d+", self.text_since_stats, re.M):
                self.totals = stats
                self.text_since_stats = ""
        # rules whose jobs finished (a SLURM group job: several), said once Snakemake's step count that
        # follows them is read
        finished: list[str] = []
        for line in complete.splitlines():
            if m := _FINISHED.match(line):
                finished.append(m.group(1))
                self.done[m.group(1)] = self.done.get(m.group(1), 0) + 1
            elif m := _STEPS.match(line):
                self.steps_done, self.steps_total = int(m.group(1)), int(m.group(2))
                for rule in dict.fromkeys(finished):
                    self.stage_finished(rule)
                finished = []
        for rule in dict.fromkeys(finished):
            self.stage_finished(rule)

    def stage_finished(self, rule: str) -> None:
        total = self.totals.get(rule)
        if rule not in HIDDEN and total and self.done[rule] == total and self.stream is None:
            self.emit(f"{self.what}: {rule} done ({total} job{'s' if total > 1 else ''}); {self.overall()}")
            self.last_line = self.clock()

    # ---- what we know
    @property
    def total(self) -> int:
        return self.steps_total or sum(self.totals.values())

    @property
    def finished(self) -> int:
        return self.steps_done or sum(self.done.values())

    def eta(self) -> float | None:
        elapsed = self.clock() - self.t0
        if not self.finished or not self.total:
            return None
        return max(0.0, (self.total - self.finished) * elapsed / self.finished)

    def overall(self) -> str:
        if not self.total:
            return "starting"
        pct = 100 * self.finished // self.total
        return f"{self.finished} of {self.total} jobs ({pct} %), {eta_text(self.eta())}"

    def stages(self) -> str:
        """Stages under way or waiting, most jobs left first (the sub-run stages, the bulk of a night, stay
        visible on a narrow terminal): 'r0_to_dl1 3/10, ...'."""
        left = [(n - self.done.get(rule, 0), i, rule, n) for i, (rule, n) in enumerate(self.totals.items())
                if rule not in HIDDEN and self.done.get(rule, 0) < n]
        return ", ".join(f"{rule} {n - k}/{n}" for k, _, rule, n in sorted(left, key=lambda x: (-x[0], x[1])))

    # ---- reporting
    def tick(self) -> None:
        now = self.clock()
        if self.stream is not None:
            if now - self.last_draw >= 1.0:
                self.draw()
                self.last_draw = now
        elif now - self.last_line >= self.every and self.total:
            stages = self.stages()
            self.emit(f"{self.what}: {self.overall()}" + (f"; under way or waiting: {stages}" if stages else ""))
            self.last_line = now

    def draw(self) -> None:
        stages = self.stages()
        line = f"{self.what}: {self.overall()}" + (f" | {stages}" if stages else "")
        width = shutil.get_terminal_size((100, 24)).columns
        if len(line) > width - 1:
            line = line[:width - 4] + "..."
        self.stream.write("\r\x1b[K" + line)
        self.stream.flush()
        self.drawn = True

    def clear(self) -> None:
        """Remove the status line (before another message is printed on the terminal)."""
        if self.stream is not None and self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = False

    def close(self) -> None:
        if self.buffer:
            self.feed("\n")
        self.clear()
        if self.total:
            self.emit(f"{self.what}: {self.finished} of {self.total} jobs done in {self.clock() - self.t0:.0f} s")
