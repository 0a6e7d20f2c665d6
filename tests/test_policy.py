"""The failure policy's decision (lstosa_snake.ops.policy), without Snakemake."""

from __future__ import annotations

from lstosa_snake.ops.policy import decide, updated_policy
from lstosa_snake.night.plan import RunPlan


def run(run_id, n, failed=()):
    return RunPlan(run_id, n, None, [s for s in range(n) if s not in failed], failed=list(failed))


def failure(rule, run, subrun, reason=""):
    return {"rule": rule, "run": run, "subrun": subrun, "reason": reason}


def test_share_threshold_run_level_failures_and_others():
    runs = {1874: run(1874, 10), 1875: run(1875, 2), 1876: run(1876, 4)}
    failures = [failure("r0_to_dl1", 1874, 3), failure("dl1_to_dl2", 1875, 1), failure("merge_dl1", 1876, None),
                failure("charge_calibration", 1873, None, "charge_calibration failed for run 01873")]
    d = decide(runs, failures, 0.8, now="T")
    assert d.closable == {1874: [3]}
    assert d.open_runs == {1875: "1 of 2 sub-runs failed; success share 0.500 < 0.8", 1876: "merge_dl1 failed"}
    assert d.decisions == [{"run": 1874, "failed": [3], "share": 0.9, "threshold": 0.8, "at": "T"}]
    assert d.messages == [
        "run 01874: 1 of 10 sub-runs failed (3); success share 0.900 >= 0.8: closing it without them",
        "run 01875: 1 of 2 sub-runs failed; success share 0.500 < 0.8: left open",
        "failure: charge_calibration failed for run 01873"]
    before = {"failed_subruns": ["01870.0001"], "decisions": [{"run": 1870}], "note": "kept"}
    assert updated_policy(before, d, 0.8) == {
        "failed_subruns": ["01870.0001", "01874.0003"], "decisions": [{"run": 1870}, d.decisions[0]],
        "open_runs": [1875, 1876], "threshold": 0.8, "note": "kept"}


def test_earlier_failed_subruns_count_against_the_share():
    runs = {1874: run(1874, 10, failed=(1,))}  # closed without sub-run 1 by an earlier pass
    d = decide(runs, [failure("r0_to_dl1", 1874, 3)], 0.9)
    assert d.closable == {} and d.open_runs == {1874: "2 of 10 sub-runs failed; success share 0.800 < 0.9"}
