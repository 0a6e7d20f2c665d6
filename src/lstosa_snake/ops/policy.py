"""The failure policy's decision, as a plain function (lstosa-nightly applies it after a pass).

Per run of the plan, from the runner's failure markers: share of successful sub-runs =
(planned - failed) / planned. A run-level failure (merge, run datacheck) leaves the run open;
a share >= ``close_min_success_fraction`` closes the run without its failed sub-runs; a lower
share leaves it open. Failures outside the plan's runs (calibration, the night's steps) are
listed as they are. The decisions are kept in ``failure_policy.json`` (``updated_policy``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from lstosa_snake.status.overview import compact_list, subrun_failures


@dataclass
class Decision:
    closable: dict[int, list[int]] = field(default_factory=dict)  # run -> failed sub-runs it closes without
    open_runs: dict[int, str] = field(default_factory=dict)  # run -> why it stays open
    others: list[dict] = field(default_factory=list)  # failures outside the plan's runs
    decisions: list[dict] = field(default_factory=list)  # this pass's closing decisions, for the record
    messages: list[str] = field(default_factory=list)  # one line per run decided, for the log


def decide(runs: dict, failures: list[dict], threshold: float, now: str | None = None) -> Decision:
    """``runs``: the plan's RunPlans by run number; ``failures``: status.read_failures()."""
    now = now or dt.datetime.now().astimezone().isoformat(timespec="seconds")
    out = Decision()
    by_run = subrun_failures(failures)
    run_level: dict[int, list[str]] = {}
    for f in failures:
        if f["subrun"] is None and f["run"] in runs:
            run_level.setdefault(f["run"], []).append(f["rule"])
    for run_id, rp in runs.items():
        new = sorted(s for s in by_run.get(run_id, {}) if s in rp.subruns)
        if not new and run_id not in run_level:
            continue
        planned = len(rp.subruns) + len(rp.failed)
        n_failed = len(rp.failed) + len(new)
        share = (planned - n_failed) / planned
        if run_id in run_level:
            out.open_runs[run_id] = f"{', '.join(sorted(set(run_level[run_id])))} failed"
        elif share >= threshold:
            out.closable[run_id] = new
            out.messages.append(f"run {run_id:05d}: {n_failed} of {planned} sub-runs failed ({compact_list(new)}); "
                                f"success share {share:.3f} >= {threshold:g}: closing it without them")
            out.decisions.append({"run": run_id, "failed": new, "share": round(share, 4), "threshold": threshold,
                                  "at": now})
        else:
            out.open_runs[run_id] = (f"{n_failed} of {planned} sub-runs failed; success share {share:.3f} < "
                                     f"{threshold:g}")
            out.messages.append(f"run {run_id:05d}: {out.open_runs[run_id]}: left open")
    out.others = [f for f in failures if f["run"] not in runs]
    out.messages += [f"failure: {f['reason'] or f['rule']}" for f in out.others]
    return out


def updated_policy(policy: dict, decision: Decision, threshold: float) -> dict:
    """The failure_policy.json content after this decision (earlier decisions kept)."""
    keep = set(policy.get("failed_subruns") or [])
    keep |= {f"{r:05d}.{s:04d}" for r, subs in decision.closable.items() for s in subs}
    return {**policy, "failed_subruns": sorted(keep), "decisions": policy.get("decisions", []) + decision.decisions,
            "open_runs": sorted(decision.open_runs), "threshold": threshold}
