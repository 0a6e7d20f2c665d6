"""Writing night summaries: the seed text format and lstchain's RunSummary ECSV.

``python -m lstosa_snake.summary_writer --to-ecsv SUMMARY --date D --output OUT`` converts any
summary that :mod:`lstosa_snake.nightsummary` reads into the RunSummary the lstchain tools read.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .nightsummary import NightSummary, TimeReference, read_night_summary


def write_night_summary_text(summary: NightSummary) -> str:
    """Render the seed text format (inverse of :func:`parse_night_summary_text`)."""

    def ref(r: TimeReference) -> str:
        if not r.valid:
            return "nan nan nan"
        return f"{r.module_id:04d} {r.ucts_t0_ns} {r.counter_ns}"

    lines = []
    for r in summary.runs:
        start = r.start.strftime("%Y-%m-%d %H:%M:%S") if r.start else "nan nan"
        lines.append(f"{r.run_str} {r.n_subruns:4d} {r.run_type:<4s}  {start} {ref(r.dragon)} {ref(r.tib)}")
    return "\n".join(lines) + "\n"


_ECSV_TYPES = {
    "DRS4": "DRS4",
    "CALI": "PEDCALIB",
    "DATA": "DATA",
    "ERROR": "ERROR",
}


def write_run_summary_ecsv(summary: NightSummary, lstchain_version: str = "unknown") -> str:
    """Render lstchain's RunSummary ECSV from any summary (read by r0_to_dl1 and calibration tools).

    The seed text format has no module *index*; the module id is used for it (true for the
    synthetic camera, whose module map is the identity). Missing references are -1, with
    ``dragon_reference_source`` ``run_start``, as lstchain writes them.
    """
    columns = [
        ("run_id", "int64"), ("n_subruns", "int64"), ("run_type", "string"), ("data_format", "string"),
        ("evb_preprocessing", "string"), ("ucts_timestamp", "int64"), ("run_start", "int64"),
        ("dragon_reference_time", "int64"), ("dragon_reference_module_id", "int16"),
        ("dragon_reference_module_index", "int16"), ("dragon_reference_counter", "uint64"),
        ("dragon_reference_source", "string"),
    ]
    head = ["# %ECSV 1.0", "# ---", "# delimiter: ','", "# datatype:"]
    head += [f"# - {{name: {n}, datatype: {t}}}" for n, t in columns]
    head += ["# meta: !!omap", f"# - {{date: '{summary.date.isoformat()}'}}",
             f"# - {{lstchain_version: {lstchain_version}}}", "# schema: astropy-2.0"]
    rows = [",".join(n for n, _ in columns)]
    epoch = dt.datetime(1970, 1, 1)
    for r in summary.runs:
        start_ns = int((r.start - epoch).total_seconds()) * 10**9 if r.start else -1
        ref = r.dragon
        if ref.valid:
            ucts, mod, counter, source = ref.ucts_t0_ns, ref.module_id, ref.counter_ns, "ucts"
        else:
            ucts, mod, counter, source = -1, -1, 0, "run_start"
        rows.append(",".join(str(v) for v in (
            r.run_id, r.n_subruns, _ECSV_TYPES.get(r.run_type, "ERROR"), "CTAR1", '"[]"', ucts, start_ns,
            ucts if ref.valid else start_ns, mod, mod, counter, source,
        )))
    return "\n".join(head + rows) + "\n"


def main(argv=None) -> int:
    """``python -m lstosa_snake.summary_writer --to-ecsv SUMMARY --date D --output OUT``."""
    import argparse
    import sys

    from .dates import parse_night_date
    from .errors import LstosaError

    parser = argparse.ArgumentParser(description="Convert a night summary to lstchain's RunSummary ECSV")
    parser.add_argument("--to-ecsv", required=True, type=Path, metavar="SUMMARY")
    parser.add_argument("--date", required=True)
    parser.add_argument("--output", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        summary = read_night_summary(args.to_ecsv, parse_night_date(args.date))
    except LstosaError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    from .atomic import write_text as atomic_write_text

    atomic_write_text(args.output, write_run_summary_ecsv(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
