"""lstosa-nightly's closing lines (night_summary_lines.end_summary) from a status and a policy."""

import datetime as dt
from pathlib import Path

from lstosa_snake.ops.night_summary_lines import end_summary
from lstosa_snake.night.paths import NightPaths

PATHS = NightPaths(Path("/data"), Path("/data"), dt.date(2020, 1, 27), "v0.12", "v0.12.3")


def seq(run, merge, failed=(), type_="DATA", **kw):
    return {"run": run, "type": type_, "stages": {"merge": merge}, "failed_subruns": list(failed), **kw}


def test_open_night_names_merged_and_open_runs_and_problems():
    status = {"sequences": [seq(1873, None, type_="PEDCALIB"), seq(1874, 1.0), seq(1875, 0.0, failed=[2, 3, 4]),
                            seq(1876, None, excluded_run=True)],
              "problems": [f"problem {i}" for i in range(17)]}
    policy = {"open_runs": [1875], "failed_subruns": ["01874.0001"]}
    end = end_summary(PATHS, "open", status, policy, log_path="/log/x.log")
    assert end.lines[0] == "night 2020-01-27 prod v0.12: OPEN"
    assert "runs merged: 1 of 2 (01874)" in end.lines  # the excluded run is not planned, the PEDCALIB not DATA
    assert "closed without failed sub-runs: 01874.0001" in end.lines
    assert "run 01875 left open: 2-4 failed" in end.lines
    assert "problems (17):" in end.lines and "  problem 14" in end.lines and "  problem 15" not in end.lines
    assert "  ... 2 more" in end.lines
    assert end.lines[-2:] == ["log: /log/x.log",
                              "status: lstosa-status --date 20200127 --prod-id v0.12 --data-root /data"]
    assert end.runs_closed == [1874] and end.failed_subruns == {1875: [2, 3, 4]} and list(end.runs_open) == [1875]


def test_closed_damaged_and_timeout_lines():
    status = {"sequences": [seq(1874, 1.0)], "problems": []}
    end = end_summary(PATHS, "damaged", status, {"open_runs": []}, damage=["merged DL1 x is missing"],
                      repair_args=" --date 20200127", disk_full=" (/data: 0 bytes free)")
    assert end.lines[1:4] == ["products missing or changed since closing:", "  merged DL1 x is missing",
                              "repair: lstosa-nightly --repair --date 20200127"]
    assert "ERROR: output disk full (/data: 0 bytes free): free space, then run again (the night resumes)" in end.lines
    end = end_summary(PATHS, "timeout", status, {}, timeout=600.0)
    assert "stopped after --timeout 600 s; the next invocation resumes" in end.lines
    end = end_summary(PATHS, "closed", status, {"open_runs": [1874]}, repaired=["a.h5", "b.h5"])
    assert "repaired 2 product(s): a.h5, b.h5" in end.lines and end.runs_open == {}  # a closed night has none
