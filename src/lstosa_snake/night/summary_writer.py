"""Writing night summaries: the seed text format and lstchain's RunSummary ECSV.

``python -m lstosa_snake.night.summary_writer --to-ecsv SUMMARY --date D [--r0-dir DIR] --output OUT``
converts any summary that :mod:`lstosa_snake.night.nightsummary` reads into the RunSummary the lstchain
tools read.

The Dragon reference of the seed text
-------------------------------------
A text line ``01874 194 DATA 2020-01-27 20:44:13 0003 1580157904186709543 5186709300 0003 ...``
gives, for the Dragon and then the TIB: the id of the first event with a valid UCTS time (ctapipe_io_lst
read these columns as ``first_valid_event_dragon``/``first_valid_event_tib``), that event's UCTS time
(TAI ns) and the counter (ns) of one Dragon module (resp. of the TIB) for that event. The text does
not say which module. ctapipe_io_lst's ``EventTimeCalculator`` takes
``dragon_reference_module_index`` from the RunSummary as the *data index* into the event's
per-module counters, and the event builder stores modules in readout order (index 0 holds
module id 90 on LST-1), so the index must be that of the module whose counter the text holds.

It is found in the raw data: in the run's first sub-run (``--r0-dir``), the event whose UCTS
time is the reference time, and there the working module (``module_status`` != 0) whose
``pps_counter * 1e9 + tenMHz_counter * 100`` equals the reference counter; its id comes from the
camera configuration (``module_id_map`` / ``expected_modules_id``). Both data formats are read
(CTA R1v1 and EVBv5). When the raw file is absent or unreadable, or nothing matches, the
fallback is index 0 (the first module in readout order: the module lstchain's run summary and
ctapipe_io_lst's own reference extraction choose when it works) with module id -1 (unknown),
announced on stderr. With CTA R1v1 data the tools take event times from the event
(``event_time_s/qns``) and ignore the Dragon reference, so only EVBv5 data depend on it.

The TIB references are kept as extra columns (``tib_reference_*``): no tool can use them any more
(ctapipe_io_lst removed TIB-based times in March 2021; lstchain 0.12.3 writes ``tib_time`` 0).
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

from .nightsummary import NightSummary, TimeReference, read_night_summary


def write_night_summary_text(summary: NightSummary) -> str:
    """Render the seed text format (inverse of :func:`parse_night_summary_text`)."""

    def ref(r: TimeReference) -> str:
        if not r.valid:
            return "nan nan nan"
        event = f"{r.event_id:04d}" if r.event_id is not None else "nan"
        return f"{event} {r.ucts_t0_ns} {r.counter_ns}"

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


@dataclass(frozen=True)
class ModuleReference:
    """Where a run's Dragon reference counter lives in the raw data."""

    module_index: int  # data index into the event's per-module arrays (what ctapipe_io_lst uses)
    module_id: int  # -1 when unknown
    event_id: int | None = None  # the reference event found in the raw data
    data_format: str | None = None  # the raw file's protobuf type (PBFHEAD), as lstchain writes it
    source: str = "fallback"  # the raw file it was found in, or why the fallback was used


FALLBACK_MODULE_INDEX = 0
#: TAI - UTC since 2017-01-01 (all LST-1 data); UCTS and ctapipe_io_lst times are TAI
TAI_MINUS_UTC_S = 37
#: events read per stream file of the first sub-run when looking for the reference event
MAX_EVENTS_PER_STREAM = 50


def fallback_reference(reason: str) -> ModuleReference:
    return ModuleReference(FALLBACK_MODULE_INDEX, -1, source=f"fallback: {reason}")


def combined_counters_ns(pps_counter, ten_mhz_counter):
    """Dragon counters in ns, per module (as ctapipe_io_lst combines them), as Python ints."""
    return [int(p) * 1_000_000_000 + int(t) * 100 for p, t in zip(pps_counter, ten_mhz_counter)]


def match_module(counters_ns, module_status, module_ids, counter_ns: int) -> tuple[int, int] | None:
    """(index, id) of the first working module whose counter equals ``counter_ns``, or None."""
    for index, (value, status) in enumerate(zip(counters_ns, module_status)):
        if status != 0 and value == counter_ns:
            return index, int(module_ids[index])
    return None


def first_subrun_streams(r0_dir: Path, run_id: int) -> list[Path]:
    # lstchain's pattern: real file names may carry a suffix after the sub-run number
    return sorted(Path(r0_dir).glob(f"LST-1.*.Run{run_id:05d}.0000*.fits.fz"))


def _anyarray_dtypes():
    """ctapipe_io_lst's dtypes of the event builder's opaque arrays (counters, UCTS data), loaded
    from its ``anyarray_dtypes.py`` alone: importing the package pulls in ctapipe and astropy
    (~300 MB and seconds) for what is a small job."""
    import importlib.util

    package = importlib.util.find_spec("ctapipe_io_lst")  # finds, does not import
    if package is None:
        raise ImportError("ctapipe_io_lst is not installed")
    path = Path(next(iter(package.submodule_search_locations))) / "anyarray_dtypes.py"
    spec = importlib.util.spec_from_file_location("_lstosa_anyarray_dtypes", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _raw_event_fields(zfits_event, cta_r1: bool, idaq_version: int, dtypes):
    """(event_id, ucts_ns or None, counters, module_status) of one raw event, both formats."""
    sub = zfits_event.debug if cta_r1 else zfits_event.lstcam
    ucts = None
    if sub.extdevices_presence & 2 and len(sub.cdts_data):
        # EVBv5 changed the UCTS layout after version 37201 (as ctapipe_io_lst reads it)
        layout = dtypes.CDTS_AFTER_37201_DTYPE if cta_r1 or idaq_version > 37201 else dtypes.CDTS_BEFORE_37201_DTYPE
        ucts = int(sub.cdts_data.view(layout)["timestamp"][0])
    counters = sub.counters.view(dtypes.DRAGON_COUNTERS_DTYPE)
    return int(zfits_event.event_id), ucts, counters, sub.module_status


def find_reference_module(r0_dir: Path, run_id: int, ref: TimeReference,
                          max_events: int = MAX_EVENTS_PER_STREAM) -> ModuleReference:
    """Find in the raw first sub-run of ``run_id`` the module whose counter is the reference.

    Needs protozfits and ctapipe_io_lst (the tools' environment); any failure to read gives
    the documented fallback with the reason.
    """
    paths = first_subrun_streams(r0_dir, run_id)
    if not paths:
        return fallback_reference(f"no raw file LST-1.*.Run{run_id:05d}.0000*.fits.fz in {r0_dir}")
    try:
        from protozfits import File

        dtypes = _anyarray_dtypes()
    except ImportError as exc:
        return fallback_reference(f"cannot read raw files here ({exc})")
    best = None  # (|difference| ns, event id, file) of the closest working module, for the message
    for path in paths:
        try:
            with File(str(path)) as f:
                cta_r1 = not hasattr(f, "CameraConfig")
                config = next(f.CameraConfiguration if cta_r1 else f.CameraConfig)
                module_ids = config.module_id_map if cta_r1 else config.lstcam.expected_modules_id
                idaq = 0 if cta_r1 else int(config.lstcam.idaq_version or 0)
                for n, event in enumerate(f.Events):
                    if n >= max_events:
                        break
                    event_id, ucts, counters, status = _raw_event_fields(event, cta_r1, idaq, dtypes)
                    # the reference event: its UCTS time is the reference time (the text's event
                    # id column is only a hint: it is checked, not trusted)
                    if ucts != ref.ucts_t0_ns:
                        continue
                    values = combined_counters_ns(counters["pps_counter"], counters["tenMHz_counter"])
                    found = match_module(values, status, module_ids, ref.counter_ns)
                    if found is not None:
                        return ModuleReference(found[0], found[1], event_id, f.Events.header.get("PBFHEAD"),
                                               source=str(path))
                    diffs = [abs(v - ref.counter_ns) for v, s in zip(values, status) if s != 0]
                    if diffs and (best is None or min(diffs) < best[0]):
                        best = (min(diffs), event_id, path.name)
        except Exception as exc:  # unreadable or truncated raw file: fall back, say why
            return fallback_reference(f"{path.name}: {type(exc).__name__}: {exc}")
    if best is not None:
        return fallback_reference(
            f"event {best[1]} in {best[2]} has the reference UCTS time but no working module's counter is"
            f" {ref.counter_ns} ns (closest differs by {best[0]} ns)"
        )
    return fallback_reference(
        f"no event with UCTS time {ref.ucts_t0_ns} among the first {max_events} events of each"
        f" stream of run {run_id:05d} sub-run 0 in {r0_dir}"
    )


def reference_modules(summary: NightSummary, r0_dir: Path | None, log=None) -> dict[int, ModuleReference]:
    """Module of each run's valid Dragon reference, looked up in the raw data (see module doc)."""
    out = {}
    for r in summary.runs:
        if not r.dragon.valid:
            continue
        found = (find_reference_module(r0_dir, r.run_id, r.dragon) if r0_dir is not None
                 else fallback_reference("no raw data directory given (--r0-dir)"))
        if found.source.startswith("fallback") and log is not None:
            print(f"WARNING: run {r.run_str}: Dragon reference module index {found.module_index} assumed"
                  f" ({found.source})", file=log)
        elif found.event_id is not None and found.event_id != r.dragon.event_id and log is not None:
            print(f"WARNING: run {r.run_str}: reference event is {found.event_id} in {found.source},"
                  f" the summary says {r.dragon.event_id}", file=log)
        out[r.run_id] = found
    return out


def write_run_summary_ecsv(summary: NightSummary, lstchain_version: str = "unknown",
                           modules: dict[int, ModuleReference] | None = None) -> str:
    """Render lstchain's RunSummary ECSV from any summary (read by r0_to_dl1 and calibration tools).

    ``modules`` gives each run's reference module (:func:`reference_modules`); runs without
    one get the fallback (index 0, id -1). Missing references are -1, with
    ``dragon_reference_source`` ``run_start`` and the run start (TAI) as reference time, as
    lstchain writes them. ``data_format`` is the raw file's protobuf type (lstchain's spelling:
    ``R1v1.Event``, ``ProtoR1.CameraEvent``), ``-`` when not read. The seed text's event ids
    and the TIB references are kept in extra columns (``*_reference_event_id``, ``tib_reference_*``;
    -1 when missing), which the tools ignore.
    """
    modules = modules or {}
    columns = [
        ("run_id", "int64"), ("n_subruns", "int64"), ("run_type", "string"), ("data_format", "string"),
        ("evb_preprocessing", "string"), ("ucts_timestamp", "int64"), ("run_start", "int64"),
        ("dragon_reference_time", "int64"), ("dragon_reference_module_id", "int16"),
        ("dragon_reference_module_index", "int16"), ("dragon_reference_counter", "uint64"),
        ("dragon_reference_source", "string"),
        ("dragon_reference_event_id", "int64"), ("tib_reference_event_id", "int64"),
        ("tib_reference_time", "int64"), ("tib_reference_counter", "int64"),
    ]
    head = ["# %ECSV 1.0", "# ---", "# delimiter: ','", "# datatype:"]
    head += [f"# - {{name: {n}, datatype: {t}}}" for n, t in columns]
    head += ["# meta: !!omap", f"# - {{date: '{summary.date.isoformat()}'}}",
             f"# - {{lstchain_version: {lstchain_version}}}", "# schema: astropy-2.0"]
    rows = [",".join(n for n, _ in columns)]
    epoch = dt.datetime(1970, 1, 1)
    for r in summary.runs:
        # lstchain writes run_start in TAI ns (unix_tai of the camera configuration); ctapipe_io_lst
        # takes it as the Dragon reference time of runs without a UCTS reference
        start_ns = (int((r.start - epoch).total_seconds()) + TAI_MINUS_UTC_S) * 10**9 if r.start else -1
        ref, tib = r.dragon, r.tib
        found = modules.get(r.run_id) or fallback_reference("not looked up")
        if ref.valid:
            ucts, counter, source = ref.ucts_t0_ns, ref.counter_ns, "ucts"
            index, mod = found.module_index, found.module_id
        else:
            ucts, index, mod, counter, source = -1, -1, -1, 0, "run_start"
        rows.append(",".join(str(v) for v in (
            r.run_id, r.n_subruns, _ECSV_TYPES.get(r.run_type, "ERROR"), found.data_format or "-", '"[]"',
            ucts, start_ns, ucts if ref.valid else start_ns, mod, index, counter, source,
            _or_missing(ref.event_id), _or_missing(tib.event_id),
            tib.ucts_t0_ns if tib.valid else -1, tib.counter_ns if tib.valid else -1,
        )))
    return "\n".join(head + rows) + "\n"


def _or_missing(value):
    return -1 if value is None else value


def main(argv=None) -> int:
    """``python -m lstosa_snake.night.summary_writer --to-ecsv SUMMARY --date D [--r0-dir DIR] --output OUT``."""
    import argparse

    from lstosa_snake.core.errors import LstosaError

    from .dates import parse_night_date

    parser = argparse.ArgumentParser(description="Convert a night summary to lstchain's RunSummary ECSV")
    parser.add_argument("--to-ecsv", required=True, type=Path, metavar="SUMMARY")
    parser.add_argument("--date", required=True)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--r0-dir", type=Path, default=None,
                        help="the night's raw files, where each run's Dragon reference module is looked up")
    args = parser.parse_args(argv)
    try:
        summary = read_night_summary(args.to_ecsv, parse_night_date(args.date))
    except LstosaError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    from lstosa_snake.core.atomic import write_text as atomic_write_text

    modules = reference_modules(summary, args.r0_dir, log=sys.stderr)
    for run_id, m in sorted(modules.items()):
        print(f"run {run_id:05d}: Dragon reference module index {m.module_index}, id {m.module_id}"
              f" ({m.source})", file=sys.stderr)
    atomic_write_text(args.output, write_run_summary_ecsv(summary, modules=modules))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
