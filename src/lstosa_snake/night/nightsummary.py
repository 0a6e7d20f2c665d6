"""The night's list of runs: parsing the seed NightSummary text and lstchain's RunSummary ECSV.

Two input formats describe the same thing, one line per run:

* the seed NightSummary text (``NightSummary_YYYYMMDD.txt``)::

    01874  194 DATA  2020-01-27 20:44:13 0003 1580157904186709543 5186709300 0003 1580157904186709543 5186708700

  run id, number of sub-runs, type (DRS4/CALI/DATA), run start date and time (UTC), then for the
  Dragon and the TIB references: the id of the first event with a valid UCTS time, that UCTS time
  (ns) and the counter (ns); ``nan`` where missing. (The text names no module: the RunSummary's module
  index comes from the raw data, see :mod:`lstosa_snake.night.summary_writer`.)

* lstchain's RunSummary (``RunSummary_YYYYMMDD.ecsv``, written by ``lstchain_create_run_summary``).

Both parse to a :class:`NightSummary`. Errors name the file and the line. Blank lines and lines
starting with ``#`` are skipped in the text format; Windows line endings are accepted.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lstosa_snake.core.errors import NightSummaryError

from .dates import compact
from .ecsv import EcsvTable, read_ecsv

log = logging.getLogger(__name__)

#: Run types we process, in the seed's names. lstchain calls the calibration run PEDCALIB.
DRS4, CALI, DATA = "DRS4", "CALI", "DATA"
#: Accepted spellings -> canonical type. Runs lstchain could not classify (ERROR) and runs
#: flagged bad by hand (EDATA, ERRPEDCALIB ...) are kept in the summary but never processed.
RUN_TYPES = {
    "DRS4": DRS4,
    "CALI": CALI,
    "PEDCALIB": CALI,
    "DATA": DATA,
    "ERROR": "ERROR",
    "EDATA": "ERROR",
    "ERRPEDCALIB": "ERROR",
    "ERRDRS4": "ERROR",
}

MAX_SUBRUNS = 10_000
TAI_MINUS_UTC_S = 37  # sub-run numbers have four digits in LST file names


@dataclass(frozen=True)
class TimeReference:
    """One Dragon or TIB timing reference of a run (all None when missing)."""

    #: the text format's id of the first event with a valid UCTS time (not a module: see
    #: summary_writer.py for how the module is found); None in RunSummaries
    event_id: int | None = None
    ucts_t0_ns: int | None = None
    counter_ns: int | None = None

    @property
    def valid(self) -> bool:
        return None not in (self.ucts_t0_ns, self.counter_ns)


@dataclass(frozen=True)
class Run:
    run_id: int
    n_subruns: int
    run_type: str
    start: dt.datetime | None = None
    dragon: TimeReference = field(default_factory=TimeReference)
    tib: TimeReference = field(default_factory=TimeReference)
    source_line: int | None = None

    @property
    def run_str(self) -> str:
        return f"{self.run_id:05d}"

    @property
    def sort_key(self):
        """Order of data taking: start time when known, run id otherwise."""
        start = self.start or dt.datetime.max
        return (start, self.run_id)


@dataclass(frozen=True)
class NightSummary:
    date: dt.date
    runs: tuple[Run, ...]
    path: str = ""
    fmt: str = ""
    #: rows left out (bad values, bad runs, another night), reported by status, report and page
    skipped: tuple[SkippedRow, ...] = ()

    def by_type(self, run_type: str) -> list[Run]:
        return [r for r in self.runs if r.run_type == run_type]

    def run(self, run_id: int) -> Run:
        for r in self.runs:
            if r.run_id == run_id:
                return r
        raise KeyError(run_id)

    @property
    def n_subruns_total(self) -> int:
        return sum(r.n_subruns for r in self.runs)


# --------------------------------------------------------------------------- rows


class RowError(ValueError):
    """A problem of one summary row: the row is skipped and reported, the night goes on."""

    def __init__(self, message: str, run_id: int | None = None):
        super().__init__(message)
        self.run_id = run_id


@dataclass(frozen=True)
class SkippedRow:
    """A row left out of the night, with the file's line number and why."""

    line: int
    run_id: int | None
    reason: str

    def describe(self, path: str) -> str:
        run = f"run {self.run_id:05d}: " if self.run_id is not None else ""
        return f"{path}:{self.line}: {run}{self.reason}"


_NAN = {"nan", "NaN", "NAN", "-1", ""}


def _opt_int(token: str | None, what: str) -> int | None:
    if token is None or token in _NAN:
        return None
    try:
        return int(token)
    except ValueError:
        raise RowError(f"{what} must be an integer or nan, got {token!r}") from None


def _check_run_date(start: dt.datetime, night: dt.date | None, run_id: int):
    """A run of night D starts on D (evening) or D+1 (after midnight UTC)."""
    if night is None:
        return
    if start.date() not in (night, night + dt.timedelta(days=1)):
        raise RowError(f"starts on {start.date()}, which is not in the night of {night}", run_id)


def _parse_run_id(token: str | None) -> int:
    if token is None or not token.strip().isdigit():
        raise RowError(f"run id must be a whole number, got {token!r}")
    return int(token)


def _parse_n_subruns(token: str | None, run_id: int) -> int:
    if token is None or not re.fullmatch(r"[+-]?\d+", token):
        raise RowError(f"number of sub-runs must be a whole number, got {token!r}", run_id)
    n = int(token)
    if n < 1 or n > MAX_SUBRUNS:
        raise RowError(f"number of sub-runs must be between 1 and {MAX_SUBRUNS}, got {n}", run_id)
    return n


def _parse_run_type(token: str | None, run_id: int) -> str:
    run_type = RUN_TYPES.get((token or "").upper())
    if run_type is None:
        raise RowError(f"unknown run type {token!r} (processed: DRS4, CALI/PEDCALIB, DATA)", run_id)
    if run_type == "ERROR":
        raise RowError(f"run type {token} marks the run as bad: not processed", run_id)
    return run_type


def _finish(path, night, runs: list[Run], skipped: list[SkippedRow], fmt: str, what: str) -> NightSummary:
    """Drop duplicate run ids (the later row), log every skipped row, refuse a summary with no run."""
    first_line: dict[int, int | None] = {}
    unique = []
    for r in runs:
        if r.run_id in first_line:
            skipped.append(SkippedRow(r.source_line, r.run_id, f"duplicate run id (first on line {first_line[r.run_id]})"))
            continue
        first_line[r.run_id] = r.source_line
        unique.append(r)
    skipped.sort(key=lambda s: s.line)
    for s in skipped:
        log.warning("%s; row skipped", s.describe(str(path)))
    if not unique:
        if not skipped:
            raise NightSummaryError(path, f"{what} is empty (no run lines)")
        first = skipped[0]
        more = f" (and {len(skipped) - 1} more bad run lines)" if len(skipped) > 1 else ""
        run = f"run {first.run_id:05d}: " if first.run_id is not None else ""
        raise NightSummaryError(path, f"no usable run line: {run}{first.reason}{more}", first.line)
    night = night or min(r.sort_key for r in unique)[0].date()
    return NightSummary(night, tuple(unique), str(path), fmt, tuple(skipped))


# --------------------------------------------------------------------------- text format


def _text_row(tokens: list[str], lineno: int, night) -> Run:
    if len(tokens) not in (5, 8, 11):
        raise RowError(
            f"expected 11 fields (run n_subruns type date time, Dragon and TIB event/ucts/counter), got {len(tokens)}",
            int(tokens[0]) if tokens[0].isdigit() else None,
        )
    run_id = _parse_run_id(tokens[0])
    n_subruns = _parse_n_subruns(tokens[1], run_id)
    run_type = _parse_run_type(tokens[2], run_id)
    try:
        start = dt.datetime.strptime(f"{tokens[3]} {tokens[4]}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise RowError(f"run start must be 'YYYY-MM-DD HH:MM:SS', got {tokens[3]} {tokens[4]!r}", run_id) from None
    _check_run_date(start, night, run_id)
    refs = []
    for offset, name in ((5, "Dragon"), (8, "TIB")):
        part = tokens[offset:offset + 3]
        if not part:
            refs.append(TimeReference())
            continue
        try:
            refs.append(TimeReference(
                _opt_int(part[0], f"{name} first valid event"), _opt_int(part[1], f"{name} UCTS time"),
                _opt_int(part[2], f"{name} counter"),
            ))
        except RowError as exc:
            raise RowError(str(exc), run_id) from None
    return Run(run_id, n_subruns, run_type, start, refs[0], refs[1], lineno)


def parse_night_summary_text(
    text: str, path="<text>", night: dt.date | None = None, check_dates: bool = True
) -> NightSummary:
    """Parse the seed NightSummary format; ``night`` checks that every run belongs to that night.

    A bad row is skipped with a warning and listed in ``NightSummary.skipped``.
    """
    runs: list[Run] = []
    skipped: list[SkippedRow] = []
    for lineno, raw in enumerate(io.StringIO(text), start=1):
        stripped = raw.strip()  # also drops a CR of Windows line endings
        if not stripped or stripped.startswith("#"):
            continue
        try:
            runs.append(_text_row(stripped.split(), lineno, night if check_dates else None))
        except RowError as exc:
            skipped.append(SkippedRow(lineno, exc.run_id, str(exc)))
    return _finish(path, night, runs, skipped, "text", "night summary")


# --------------------------------------------------------------------------- ECSV tables

_ECSV_REQUIRED = ("run_id", "n_subruns", "run_type")
_MERGED_REQUIRED = ("date", "run_id", "run_type", "n_subruns")


def _ecsv_start(value: str | None, run_id: int) -> dt.datetime | None:
    """run_start: ns since 1970 (RunSummary) or ISO time (merged summary); -1 or masked: unknown."""
    if value is None or value.strip() in _NAN:
        return None
    if re.fullmatch(r"-?\d+", value.strip()):
        # lstchain writes TAI ns since 1970; TAI - UTC is 37 s for all LST data (since 2017)
        return dt.datetime.fromtimestamp(int(value) / 1e9 - TAI_MINUS_UTC_S, dt.timezone.utc).replace(tzinfo=None)
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise RowError(f"run_start must be ns since 1970 or an ISO time, got {value!r}", run_id) from None


def _ecsv_row(row: dict, lineno: int, night) -> Run:
    run_id = _parse_run_id(row.get("run_id"))
    n_subruns = _parse_n_subruns(row.get("n_subruns"), run_id)
    run_type = _parse_run_type(row.get("run_type"), run_id)
    start = _ecsv_start(row.get("run_start"), run_id)
    if start is not None:
        _check_run_date(start, night, run_id)
    try:
        dragon = TimeReference(
            None,
            _opt_int(row.get("dragon_reference_time"), "dragon_reference_time"),
            _opt_int(row.get("dragon_reference_counter"), "dragon_reference_counter"),
        )
    except RowError as exc:
        raise RowError(str(exc), run_id) from None
    return Run(run_id, n_subruns, run_type, start, dragon, TimeReference(), lineno)


def _table_night(table: EcsvTable) -> dt.date | None:
    value = table.meta.get("date")
    if value is None:
        return None
    try:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        raise NightSummaryError(table.path, f"meta date must be YYYY-MM-DD, got {value!r}") from None


def parse_run_summary_ecsv(
    text: str, path="<ecsv>", night: dt.date | None = None, check_dates: bool = True
) -> NightSummary:
    """lstchain's RunSummary (one night) or LSTOSA's merged RunSummary (many nights, ``date`` column).

    Any delimiter ECSV allows; a bad row is skipped with a warning and listed in ``skipped``.
    """
    table = read_ecsv(text, path)
    if "date" in table.columns and "dragon_reference_time" not in table.columns:
        return _merged_night(table, night, check_dates)
    missing = [c for c in _ECSV_REQUIRED if c not in table.columns]
    if missing:
        raise NightSummaryError(path, f"RunSummary lacks columns {missing}", _column_line(text))
    meta_date = _table_night(table)
    if night is not None and meta_date is not None and meta_date != night:
        raise NightSummaryError(path, f"RunSummary is for night {meta_date}, not {night}")
    runs, skipped = [], []
    for lineno, row in table.rows:
        try:
            runs.append(_ecsv_row(row, lineno, night if check_dates else None))
        except RowError as exc:
            skipped.append(SkippedRow(lineno, exc.run_id, str(exc)))
    return _finish(path, night or meta_date, runs, skipped, "ecsv", "RunSummary")


def _merged_night(table: EcsvTable, night: dt.date | None, check_dates: bool = True) -> NightSummary:
    """The rows of one night from LSTOSA's merged_RunSummary.ecsv (all nights, one row per run)."""
    missing = [c for c in _MERGED_REQUIRED if c not in table.columns]
    if missing:
        raise NightSummaryError(table.path, f"merged RunSummary lacks columns {missing}")
    if night is None:
        raise NightSummaryError(table.path, "a merged RunSummary holds many nights: give the night")
    runs, skipped = [], []
    for lineno, row in table.rows:
        if (row.get("date") or "").strip() != night.isoformat():
            continue
        try:
            runs.append(_ecsv_row(row, lineno, night if check_dates else None))
        except RowError as exc:
            skipped.append(SkippedRow(lineno, exc.run_id, str(exc)))
    if not runs and not skipped:
        raise NightSummaryError(table.path, f"merged RunSummary has no run of the night {night}")
    return _finish(table.path, night, runs, skipped, "merged", "merged RunSummary")


def _column_line(text: str) -> int:
    for i, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            return i
    return 1


@dataclass(frozen=True)
class CatalogEntry:
    """A run's source from LSTOSA's RunCatalog (``monitoring/RunCatalog/RunCatalog_YYYYMMDD.ecsv``)."""

    run_id: int
    source_name: str | None
    source_ra: float | None
    source_dec: float | None


def read_run_catalog(path) -> dict[int, CatalogEntry]:
    """Run -> source; a missing file is an empty catalog, a bad row is skipped with a warning."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise NightSummaryError(path, f"cannot read RunCatalog: {exc}") from None
    table = read_ecsv(text, path)
    missing = [c for c in ("run_id", "source_name", "source_ra", "source_dec") if c not in table.columns]
    if missing:
        raise NightSummaryError(path, f"RunCatalog lacks columns {missing}", _column_line(text))
    out = {}
    for lineno, row in table.rows:
        try:
            run_id = _parse_run_id(row["run_id"])
            ra, dec = (float(row[c]) if row[c] is not None else None for c in ("source_ra", "source_dec"))
        except (RowError, ValueError) as exc:
            log.warning("%s:%d: %s; RunCatalog row skipped", path, lineno, exc)
            continue
        out[run_id] = CatalogEntry(run_id, row["source_name"], ra, dec)
    return out


# --------------------------------------------------------------------------- files


def read_night_summary(path, night: dt.date | None = None, check_dates: bool = True) -> NightSummary:
    """Read any format, chosen by the file's content; errors name the file. ``check_dates=False``
    takes the rows' start times as they are (an earlier night looked at for its calibration)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NightSummaryError(path, "night summary file does not exist") from None
    except OSError as exc:
        raise NightSummaryError(path, f"cannot read night summary: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NightSummaryError(path, f"not a text file (byte {exc.start} is not UTF-8)") from None
    if text.lstrip().startswith("# %ECSV"):
        return parse_run_summary_ecsv(text, path, night, check_dates)
    return parse_night_summary_text(text, path, night, check_dates)


def summary_candidates(data_root, output_root, night: dt.date, merged=None) -> list[Path]:
    """Where a night's summary is looked for, in order of preference; LSTOSA's merged RunSummary
    (all nights in one file) last."""
    d = compact(night)
    roots = [Path(data_root)]
    if Path(output_root) != Path(data_root):
        roots.append(Path(output_root))
    out = []
    for root in roots:
        out.append(root / "monitoring" / "RunSummary" / f"RunSummary_{d}.ecsv")
        out.append(root / "monitoring" / "NightSummary" / f"NightSummary_{d}.txt")
    if merged:
        out.append(Path(merged))
    return out


def find_night_summary(data_root, output_root, night: dt.date, merged=None) -> Path | None:
    for candidate in summary_candidates(data_root, output_root, night, merged):
        if candidate == merged and not _merged_has_night(candidate, night):
            continue
        if candidate.is_file():
            return candidate
    return None


def _merged_has_night(path: Path, night: dt.date) -> bool:
    """Cheap test (no parsing) whether a merged RunSummary lists the night: its rows start with the date."""
    try:
        with open(path) as f:
            return any(line.startswith(night.isoformat()) for line in f)
    except OSError:
        return False


_R0_NAME = re.compile(r"^LST-1\.(\d)\.Run(\d{5})\.(\d{4})\.fits\.fz$")


def raw_file_entries(r0_dir):
    """(run, sub-run, stream) and the ``os.DirEntry`` of every R0 stream file in one night directory:
    one listing (``scandir`` also gives sizes without an extra open); nothing when it does not exist."""
    try:
        entries = os.scandir(r0_dir)
    except FileNotFoundError:
        return
    with entries:
        for entry in entries:
            m = _R0_NAME.match(entry.name)
            if m:
                stream, run, subrun = (int(g) for g in m.groups())
                yield (run, subrun, stream), entry


def scan_raw_files(r0_dir) -> dict[tuple[int, int], set[int]]:
    """Map (run, sub-run) -> set of stream numbers present in one R0 night directory.

    One directory listing: cheap even for 40,000 files.
    """
    found: dict[tuple[int, int], set[int]] = {}
    for (run, subrun, stream), _ in raw_file_entries(r0_dir):
        found.setdefault((run, subrun), set()).add(stream)
    return found
