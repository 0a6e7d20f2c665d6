"""What lstosa-status reads besides the products: failure markers, the failure policy, benchmarks.

One ``os.scandir`` per directory, no per-file ``stat``: the status of a 10,000 sub-run night stays
fast. Imports nothing of the project.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

#: Written by lstosa-nightly in the night's running dir: sub-runs runs were closed without.
POLICY_FILE = "failure_policy.json"

SUBRUN_STAGES = ("r0_to_dl1", "datacheck", "dl1_to_dl2")
#: runner labels of the per-sub-run rules -> status stage
_SUBRUN_RULES = {"r0_to_dl1": "r0_to_dl1", "dl1_datacheck": "datacheck", "dl1_to_dl2": "dl1_to_dl2",
                 "dl1ab": "dl1ab", "gain_selection": "gain_selection"}  # dl1ab: docs/dl1b.md; legacy_raw nights
_MARKER = re.compile(r"^(?P<rule>[A-Za-z0-9]+(?:_[a-z0-9]+)*?)_run_(?P<run>\d{5})(?:_sub-run_(?P<subrun>\d{4}))?\.txt$")
_BENCH_RUN = re.compile(r"\.Run(\d{5})[.]")
_BENCH_DIRS = ("", "r0_to_dl1", "dl1_datacheck", "dl1_to_dl2", "merge", "datacheck",
               "find_tailcuts", "catB_calibration", "dl1ab")  # the DL1b stages: docs/dl1b.md


def list_names(directory: Path) -> set[str]:
    """Names in one directory (one scandir; nothing when it does not exist)."""
    try:
        with os.scandir(directory) as it:
            return {e.name for e in it}
    except (FileNotFoundError, NotADirectoryError):
        return set()


def read_failures(running_dir: Path) -> list[dict]:
    """The runner's failure markers: [{rule, run, subrun, reason, marker}], run/subrun ints or None."""
    failures = []
    fdir = Path(running_dir) / "failures"
    for name in sorted(list_names(fdir)):
        if not name.endswith(".txt"):
            continue
        try:
            reason = (fdir / name).read_text(errors="replace").strip().splitlines()[0]
        except (OSError, IndexError):
            reason = ""
        m = _MARKER.match(name)
        failures.append({
            "rule": m.group("rule") if m else name[:-4],
            "run": int(m.group("run")) if m else None,
            "subrun": int(m.group("subrun")) if m and m.group("subrun") else None,
            "reason": reason,
            "marker": str(fdir / name),
        })
    return failures


def night_failures(paths) -> list[dict]:
    """The production's failure markers and those of the night's gain selection (legacy_raw nights;
    kept with the R0G work area, which every production shares)."""
    return read_failures(paths.running_dir) + read_failures(paths.gain_selection_running_dir)


def subrun_failures(failures: list[dict]) -> dict[int, dict[int, list[str]]]:
    """{run: {subrun: [rules]}} of the per-sub-run failures."""
    out: dict[int, dict[int, list[str]]] = {}
    for f in failures:
        if f["subrun"] is not None and f["rule"] in _SUBRUN_RULES:
            out.setdefault(f["run"], {}).setdefault(f["subrun"], []).append(f["rule"])
    return out


def read_policy(running_dir: Path) -> dict:
    try:
        return json.loads((Path(running_dir) / POLICY_FILE).read_text())
    except (OSError, ValueError):
        return {}


def benchmark_totals(running_dir: Path) -> dict[int, list[float]]:
    """{run: [cpu_s, wall_s]} summed over the benchmark TSVs (columns ``cpu_time`` and ``s``)."""
    totals: dict[int, list[float]] = {}
    root = Path(running_dir) / "benchmarks"
    for sub in _BENCH_DIRS:
        d = root / sub if sub else root
        for name in list_names(d):
            m = _BENCH_RUN.search(name)
            if not m or not name.endswith(".tsv"):
                continue
            try:
                with open(d / name) as fh:
                    header = fh.readline().rstrip("\n").split("\t")
                    values = fh.readline().rstrip("\n").split("\t")
                row = dict(zip(header, values))
                cpu, wall = float(row.get("cpu_time", 0) or 0), float(row.get("s", 0) or 0)
            except (OSError, ValueError):
                continue
            t = totals.setdefault(int(m.group(1)), [0.0, 0.0])
            t[0] += cpu
            t[1] += wall
    return totals
