"""What lstosa-nightly says when an invocation ends: the night's state in a few lines.

A plain function of what is on disk (the night's status, the failure policy) so that the summary
can be tested without running a night; ``nightly.Night.finish`` prints and notifies it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lstosa_snake.night.paths import NightPaths
from lstosa_snake.status.overview import compact_list

#: more problems than this are counted, not listed
MAX_PROBLEMS = 15


@dataclass
class EndSummary:
    lines: list[str]
    runs_closed: list[int] = field(default_factory=list)
    runs_open: dict[int, str] = field(default_factory=dict)
    failed_subruns: dict[int, list[int]] = field(default_factory=dict)


def roots_args(p: NightPaths) -> str:
    """`` --output-root ...`` (when it differs) and `` --data-root ...``, for the commands suggested."""
    return (f" --output-root {p.output_root}" if p.output_root != p.data_root else "") + f" --data-root {p.data_root}"


def end_summary(p: NightPaths, state: str, status: dict, policy: dict, *, repaired=(), damage=(), disk_full="",
                timeout=None, log_path=None, repair_args="") -> EndSummary:
    """The closing lines: state, repairs, damage, runs merged and left open, problems, where to look.

    ``status``: ``night_status`` of the night; ``policy``: failure_policy.json; ``damage``: closed-night
    product problems; ``disk_full``: ``runner.disk_full_note``; ``repair_args``: the night's command-line
    arguments for the suggested ``--repair``."""
    out = EndSummary([f"night {p.night} prod {p.prod_id}: {state.upper()}"])
    lines = out.lines
    if repaired and not damage:
        lines.append(f"repaired {len(repaired)} product(s): {', '.join(repaired[:10])}"
                     + (" ..." if len(repaired) > 10 else ""))
    if damage:
        lines += ["products missing or changed since closing:", *(f"  {x}" for x in damage),
                  f"repair: lstosa-nightly --repair{repair_args}"]
    if disk_full:
        lines.append(f"ERROR: output disk full{disk_full}: free space, then run again (the night resumes)")
    # the DATA runs the plan processes (status: not excluded)
    planned = [q for q in status["sequences"] if q["type"] == "DATA" and q.get("processed", not q.get("excluded_run"))]
    for seq in planned:
        if seq["stages"].get("merge") == 1.0:
            out.runs_closed.append(seq["run"])
        if seq.get("failed_subruns"):
            out.failed_subruns[seq["run"]] = seq["failed_subruns"]
    open_runs = policy.get("open_runs", []) if state != "closed" else []
    for run in open_runs:
        out.runs_open[run] = "too few successful sub-runs or a run-level step failed"
    lines.append(f"runs merged: {len(out.runs_closed)} of {len(planned)}"
                 + (f" ({', '.join(f'{r:05d}' for r in out.runs_closed)})" if out.runs_closed else ""))
    closed_without = policy.get("failed_subruns") or []
    if closed_without:
        lines.append(f"closed without failed sub-runs: {', '.join(closed_without)}")
    for run in open_runs:
        lines.append(f"run {run:05d} left open: {compact_list(out.failed_subruns.get(run, []))} failed")
    problems = status.get("problems") or []
    if problems:
        lines.append(f"problems ({len(problems)}):")
        lines += [f"  {x}" for x in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            lines.append(f"  ... {len(problems) - MAX_PROBLEMS} more")
    if state == "timeout":
        lines.append(f"stopped after --timeout {timeout:g} s; the next invocation resumes")
    lines.append(f"log: {log_path}")
    lines.append(f"status: lstosa-status --date {p.date} --prod-id {p.prod_id}{roots_args(p)}")
    return out
