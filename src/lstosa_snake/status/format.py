"""The terminal view of ``lstosa-status``: the dict of :func:`lstosa_snake.status.overview.night_status` as text.

Kept apart from the disk-reading side (status.py) so each stays readable; this module imports
nothing of the project. The columns and states are explained in docs/status.md and in the
legend printed under the table.
"""

from __future__ import annotations

#: printed under the table: what the columns mean (docs/status.md has the long version)
LEGEND = (
    "parent: the calibration sequence (seq) a DATA run uses. r0>dl1, datacheck, dl1>dl2: share of the run's\n"
    "planned sub-runs with that product; merged: share of the run's merged DL1, DL2, muons and datacheck PDF;\n"
    "calib: share of the run's calibration files. failed, excluded, no-raw: sub-run numbers (no-raw = no raw files)."
)

STATE_TEXT = {"open": "open", "closed": "CLOSED", "closed_products_missing": "CLOSED — PRODUCTS MISSING"}

HEAD = ("seq", "parent", "type", "run", "subruns", "r0>dl1", "datacheck", "dl1>dl2", "merged",
        "failed", "excluded", "no-raw", "calibration")


def _pct(x) -> str:
    if x is None:
        return "-"
    v = x * 100
    if 99 < v < 100:  # never round an unfinished stage up to 100 %
        return f"{min(v, 99.9):.1f}%"
    return f"{v:.0f}%"


def compact_list(values) -> str:
    """[1, 2, 3, 7] -> '1-3,7'; empty -> '-'."""
    values = sorted(int(v) for v in values)
    out, i = [], 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        out.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return ",".join(out) or "-"


def state_text(status: dict) -> str:
    """'open', 'CLOSED', 'CLOSED — PRODUCTS MISSING'; a night without DATA runs says so."""
    text = STATE_TEXT.get(status.get("state") or ("closed" if status.get("closed") else "open"), "?")
    if status.get("calibration_only"):
        text += " (calibration-only night: no DATA runs)"
    return text


def _row(s: dict) -> tuple[str, ...]:
    st = s.get("stages") or {}
    if s.get("note"):  # unused calibration, excluded run, run without raw data
        stage_cells = (s["note"], "", "", "")
    elif s["type"] != "DATA":
        stage_cells = (f"calib {_pct(st.get('calibration'))}", "", "", "")
    else:
        stage_cells = tuple(_pct(st.get(k)) for k in ("r0_to_dl1", "datacheck", "dl1_to_dl2", "merge"))
    return (
        str(s["seq"]), "-" if s["parent"] is None else str(s["parent"]), s["type"], f"{s['run']:05d}",
        str(s.get("planned_subruns", s["n_subruns"])), *stage_cells,
        compact_list(s.get("failed_subruns") or []), compact_list(s.get("excluded_subruns") or []),
        compact_list(s.get("missing_raw_subruns") or []), s.get("calibration") or "-",
    )


def _section(title: str, items: list[str], limit: int = 20) -> list[str]:
    if not items:
        return []
    lines = [f"{title} ({len(items)}):"] + [f"  - {x}" for x in items[:limit]]
    if len(items) > limit:
        lines.append(f"  ... {len(items) - limit} more (see --json)")
    return lines


def format_table(status: dict) -> str:
    lines = [
        f"Night {status['date']}  prod {status['prod_id']}  {state_text(status)}  "
        f"summary: {status.get('night_summary') or '-'}"
    ]
    rows = [_row(s) for s in status["sequences"]]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(HEAD)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(HEAD, widths)).rstrip())
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.append(LEGEND)
    if status.get("input_state"):  # docs/input-states.md
        lines.append(f"raw data: {status['input_state']}")
    lines += _section("Summary rows skipped", [
        f"{r['file']}:{r['line']}: " + (f"run {r['run']:05d}: " if r.get("run") is not None else "") + r["reason"]
        for r in status.get("skipped_rows") or []
    ])
    lines += _section("Problems", status["problems"])
    return "\n".join(lines)
