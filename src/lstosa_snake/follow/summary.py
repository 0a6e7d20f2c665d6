"""The RunSummary the follow mode keeps during the night.

Each run is probed once (``lstosa-probe-run``, lstchain's own functions on its first sub-run); its row
is cached in ``rows.json`` beside the follow state. Every cycle that sees new complete sub-runs
rewrites the night's RunSummary (``monitoring/RunSummary/RunSummary_<date>.ecsv`` below the output
root, where the workflow would create it) with ``n_subruns`` = the complete sub-runs so far, atomically.
The tools read the run's row only, which does not change once probed; the workflow marks the summary
``ancient`` so that a longer summary does not redo finished sub-runs. In the morning the same file is
the night's summary: nothing is planned twice.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

from lstosa_snake.core.atomic import write_text
from lstosa_snake.core.errors import LstosaError

COLUMNS = (
    ("run_id", "int64"), ("n_subruns", "int64"), ("run_type", "string"), ("data_format", "string"),
    ("evb_preprocessing", None), ("ucts_timestamp", "int64"), ("run_start", "int64"),
    ("dragon_reference_time", "int64"), ("dragon_reference_module_id", "int16"),
    ("dragon_reference_module_index", "int16"), ("dragon_reference_counter", "uint64"),
    ("dragon_reference_source", "string"),
)


class ProbeError(LstosaError):
    """lstosa-probe-run failed for a run."""


def probe_runs(tools_bin: Path, r0_dir: Path, runs: list[int], timeout: float = 600) -> dict[int, dict]:
    """Rows of ``runs`` from ``lstosa-probe-run`` (one tool start for all of them)."""
    if not runs:
        return {}
    cmd = [str(tools_bin / "lstosa-probe-run"), "--r0-dir", str(r0_dir)]
    for run in runs:
        cmd += ["--run", str(run)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        tail = (res.stderr.strip().splitlines() or ["no message"])[-1]
        raise ProbeError(f"lstosa-probe-run failed for runs {runs} in {r0_dir}: {tail}")
    rows = {}
    for line in res.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            row = json.loads(line)
            rows[int(row["run_id"])] = row
    missing = [r for r in runs if r not in rows]
    if missing:
        raise ProbeError(f"lstosa-probe-run gave no row for runs {missing} in {r0_dir}")
    return rows


def _value(value) -> str:
    if value is None:
        return "None"
    text = str(value)
    if any(c in text for c in ',"') or text == "":
        return '"' + text.replace('"', '""') + '"'
    return text


def render(night: dt.date, rows: dict[int, dict], n_subruns: dict[int, int], lstchain_version: str = "") -> str:
    """The RunSummary ECSV of the runs in ``n_subruns`` (run -> complete sub-runs so far)."""
    def dtype(name, fixed):
        if fixed:
            return fixed
        sample = next((r.get(name) for r in rows.values() if r.get(name) is not None), "")
        return "int64" if isinstance(sample, int) else "string"

    head = ["# %ECSV 1.0", "# ---", "# datatype:"]
    head += [f"# - {{name: {n}, datatype: {dtype(n, t)}}}" for n, t in COLUMNS]
    head += ["# delimiter: ','", "# meta: !!omap", f"# - {{date: '{night.isoformat()}'}}",
             f"# - {{lstchain_version: {lstchain_version or 'unknown'}}}", "# - {written_by: lstosa-follow}",
             "# schema: astropy-2.0"]
    lines = [",".join(n for n, _ in COLUMNS)]
    for run in sorted(n_subruns):
        row = dict(rows[run], n_subruns=n_subruns[run])
        values = []
        for name, fixed in COLUMNS:
            value = row.get(name)
            if value is None and fixed in ("int64", "int16"):
                value = -1  # lstchain's defaults when a run has no reference
            elif value is None and fixed == "uint64":
                value = 2**64 - 1
            values.append(_value(value))
        lines.append(",".join(values))
    return "\n".join(head + lines) + "\n"


def write_if_changed(path: Path, text: str) -> bool:
    """Atomic, and only when the content changes (its mtime then tells when the runs last grew)."""
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    write_text(path, text)
    return True
