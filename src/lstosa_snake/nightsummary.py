"""The night's list of runs: parsing the seed NightSummary text and lstchain's RunSummary ECSV.

Two input formats describe the same thing, one line per run:

* the seed NightSummary text (``NightSummary_YYYYMMDD.txt``)::

    01874  194 DATA  2020-01-27 20:44:13 0003 1580157904186709543 5186709300 0003 1580157904186709543 5186708700

  run id, number of sub-runs, type (DRS4/CALI/DATA), run start date and time (UTC), then for the
  Dragon and the TIB references: module id, UCTS time of the first valid event (ns) and the
  counter (ns); ``nan`` where missing.

* lstchain's RunSummary (``RunSummary_YYYYMMDD.ecsv``, written by ``lstchain_create_run_summary``).

Both parse to a :class:`NightSummary`. Errors name the file and the line. Blank lines and lines
starting with ``#`` are skipped in the text format; Windows line endings are accepted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .dates import compact
from .errors import NightSummaryError

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

MAX_SUBRUNS = 10_000  # sub-run numbers have four digits in LST file names


@dataclass(frozen=True)
class TimeReference:
    """One Dragon or TIB timing reference of a run (all None when missing)."""

    module_id: int | None = None
    ucts_t0_ns: int | None = None
    counter_ns: int | None = None

    @property
    def valid(self) -> bool:
        return None not in (self.module_id, self.ucts_t0_ns, self.counter_ns)


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


# --------------------------------------------------------------------------- text format

_NAN = {"nan", "NaN", "NAN", "-1", ""}


def _opt_int(token: str, what: str, path, line: int) -> int | None:
    if token in _NAN:
        return None
    try:
        return int(token)
    except ValueError:
        raise NightSummaryError(path, f"{what} must be an integer or nan, got {token!r}", line) from None


def _check_run_date(start: dt.datetime, night: dt.date | None, path, line: int, run_id: int):
    """A run of night D starts on D (evening) or D+1 (after midnight UTC)."""
    if night is None:
        return
    if start.date() not in (night, night + dt.timedelta(days=1)):
        raise NightSummaryError(
            path,
            f"run {run_id:05d} starts on {start.date()}, which is not in the night of {night}",
            line,
        )


def _check_unique(runs: list[Run], path):
    seen: dict[int, int | None] = {}
    for r in runs:
        if r.run_id in seen:
            raise NightSummaryError(
                path, f"duplicate run id {r.run_id:05d} (first on line {seen[r.run_id]})", r.source_line
            )
        seen[r.run_id] = r.source_line


def _parse_n_subruns(token: str, path, line: int) -> int:
    if not re.fullmatch(r"[+-]?\d+", token):
        raise NightSummaryError(path, f"number of sub-runs must be a whole number, got {token!r}", line)
    n = int(token)
    if n < 1 or n > MAX_SUBRUNS:
        raise NightSummaryError(path, f"number of sub-runs must be between 1 and {MAX_SUBRUNS}, got {n}", line)
    return n


def _parse_run_type(token: str, path, line: int) -> str:
    run_type = RUN_TYPES.get(token.upper())
    if run_type is None:
        known = "DRS4, CALI (PEDCALIB), DATA, ERROR"
        raise NightSummaryError(path, f"unknown run type {token!r} (known: {known})", line)
    return run_type


def parse_night_summary_text(text: str, path="<text>", night: dt.date | None = None) -> NightSummary:
    """Parse the seed NightSummary format; ``night`` checks that every run belongs to that night."""
    runs: list[Run] = []
    for lineno, raw in enumerate(io.StringIO(text), start=1):
        stripped = raw.strip()  # also drops a CR of Windows line endings
        if not stripped or stripped.startswith("#"):
            continue
        tokens = stripped.split()
        if len(tokens) not in (5, 8, 11):
            raise NightSummaryError(
                path,
                f"expected 11 fields (run n_subruns type date time, Dragon and TIB module/ucts/counter), "
                f"got {len(tokens)}",
                lineno,
            )
        if not tokens[0].isdigit():
            raise NightSummaryError(path, f"run id must be a whole number, got {tokens[0]!r}", lineno)
        run_id = int(tokens[0])
        n_subruns = _parse_n_subruns(tokens[1], path, lineno)
        run_type = _parse_run_type(tokens[2], path, lineno)
        try:
            start = dt.datetime.strptime(f"{tokens[3]} {tokens[4]}", "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise NightSummaryError(
                path, f"run start must be 'YYYY-MM-DD HH:MM:SS', got {tokens[3]} {tokens[4]!r}", lineno
            ) from None
        _check_run_date(start, night, path, lineno, run_id)
        refs = []
        for offset, name in ((5, "Dragon"), (8, "TIB")):
            part = tokens[offset:offset + 3]
            if not part:
                refs.append(TimeReference())
                continue
            refs.append(
                TimeReference(
                    _opt_int(part[0], f"{name} module", path, lineno),
                    _opt_int(part[1], f"{name} UCTS time", path, lineno),
                    _opt_int(part[2], f"{name} counter", path, lineno),
                )
            )
        runs.append(Run(run_id, n_subruns, run_type, start, refs[0], refs[1], lineno))
    if not runs:
        raise NightSummaryError(path, "night summary is empty (no run lines)")
    _check_unique(runs, path)
    night = night or min(r.start for r in runs).date()
    return NightSummary(night, tuple(runs), str(path), "text")


# --------------------------------------------------------------------------- RunSummary ECSV

_ECSV_REQUIRED = ("run_id", "n_subruns", "run_type")


def parse_run_summary_ecsv(text: str, path="<ecsv>", night: dt.date | None = None) -> NightSummary:
    """Parse lstchain's RunSummary ECSV (header lines start with ``#``; comma-delimited body).

    Read with the csv module so that Snakemake's environment needs no astropy.
    """
    lines = io.StringIO(text).read().splitlines()
    header_end = 0
    while header_end < len(lines) and lines[header_end].startswith("#"):
        header_end += 1
    if header_end == 0 or "%ECSV" not in lines[0]:
        raise NightSummaryError(path, "not an ECSV file (no '# %ECSV' header)", 1)
    meta_date = None
    for i, hl in enumerate(lines[:header_end], start=1):
        m = re.search(r"date:\s*'?(\d{4}-\d{2}-\d{2})'?", hl)
        if m:
            meta_date = dt.date.fromisoformat(m.group(1))
    if night is not None and meta_date is not None and meta_date != night:
        raise NightSummaryError(path, f"RunSummary is for night {meta_date}, not {night}")
    body = lines[header_end:]
    reader = csv.reader(body)
    try:
        columns = next(reader)
    except StopIteration:
        raise NightSummaryError(path, "RunSummary has no column header") from None
    missing = [c for c in _ECSV_REQUIRED if c not in columns]
    if missing:
        raise NightSummaryError(path, f"RunSummary lacks columns {missing}", header_end + 1)
    col = {name: i for i, name in enumerate(columns)}
    runs: list[Run] = []
    for offset, row in enumerate(reader, start=header_end + 2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(columns):
            raise NightSummaryError(path, f"expected {len(columns)} columns, got {len(row)}", offset)
        get = lambda name: row[col[name]].strip() if name in col else ""  # noqa: E731
        if not get("run_id").isdigit():
            raise NightSummaryError(path, f"run id must be a whole number, got {get('run_id')!r}", offset)
        run_id = int(get("run_id"))
        n_subruns = _parse_n_subruns(get("n_subruns"), path, offset)
        run_type = _parse_run_type(get("run_type"), path, offset)
        start = None
        run_start = _opt_int(get("run_start"), "run_start", path, offset)
        if run_start is not None:
            start = dt.datetime.fromtimestamp(run_start / 1e9, dt.timezone.utc).replace(tzinfo=None)
            _check_run_date(start, night, path, offset, run_id)
        dragon = TimeReference(
            _opt_int(get("dragon_reference_module_id"), "dragon_reference_module_id", path, offset),
            _opt_int(get("dragon_reference_time"), "dragon_reference_time", path, offset),
            _opt_int(get("dragon_reference_counter"), "dragon_reference_counter", path, offset),
        )
        runs.append(Run(run_id, n_subruns, run_type, start, dragon, TimeReference(), offset))
    if not runs:
        raise NightSummaryError(path, "RunSummary is empty (no run rows)")
    _check_unique(runs, path)
    night = night or meta_date or min(r.sort_key for r in runs)[0].date()
    return NightSummary(night, tuple(runs), str(path), "ecsv")


# --------------------------------------------------------------------------- files


def read_night_summary(path, night: dt.date | None = None) -> NightSummary:
    """Read either format, chosen by the file's content; errors name the file."""
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
        return parse_run_summary_ecsv(text, path, night)
    return parse_night_summary_text(text, path, night)


def summary_candidates(data_root, output_root, night: dt.date) -> list[Path]:
    """Where a night's summary is looked for, in order of preference."""
    d = compact(night)
    roots = [Path(data_root)]
    if Path(output_root) != Path(data_root):
        roots.append(Path(output_root))
    out = []
    for root in roots:
        out.append(root / "monitoring" / "RunSummary" / f"RunSummary_{d}.ecsv")
        out.append(root / "monitoring" / "NightSummary" / f"NightSummary_{d}.txt")
    return out


def find_night_summary(data_root, output_root, night: dt.date) -> Path | None:
    for candidate in summary_candidates(data_root, output_root, night):
        if candidate.is_file():
            return candidate
    return None


_R0_NAME = re.compile(r"^LST-1\.(\d)\.Run(\d{5})\.(\d{4})\.fits\.fz$")


def scan_raw_files(r0_dir) -> dict[tuple[int, int], set[int]]:
    """Map (run, sub-run) -> set of stream numbers present in one R0 night directory.

    One directory listing: cheap even for 40,000 files.
    """
    found: dict[tuple[int, int], set[int]] = {}
    try:
        entries = os.scandir(r0_dir)
    except FileNotFoundError:
        return found
    with entries:
        for entry in entries:
            m = _R0_NAME.match(entry.name)
            if m:
                stream, run, subrun = (int(g) for g in m.groups())
                found.setdefault((run, subrun), set()).add(stream)
    return found
