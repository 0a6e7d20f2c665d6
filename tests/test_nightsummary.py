"""Parsing the two night summary formats; errors name file and line."""

import datetime as dt

import pytest

from lstosa_snake.core.errors import NightSummaryError
from lstosa_snake.night.nightsummary import (
    CALI,
    DATA,
    DRS4,
    parse_night_summary_text,
    parse_run_summary_ecsv,
    read_night_summary,
    scan_raw_files,
)
from lstosa_snake.night.summary_writer import write_night_summary_text

SEED = "01874  194 DATA  2020-01-27 20:44:13 0003 1580157904186709543 5186709300 0003 1580157904186709543 5186708700"
NIGHT = dt.date(2020, 1, 27)

NIGHT_TEXT = """\
01872    1 DRS4  2020-01-27 20:30:00 nan nan nan nan nan nan
01873    1 CALI  2020-01-27 20:35:00 0003 1580157300000000000 100 nan nan nan
""" + SEED + "\n"


def test_seed_line_fields():
    s = parse_night_summary_text(SEED, "NightSummary_20200127.txt", NIGHT)
    (run,) = s.runs
    assert run.run_id == 1874 and run.run_str == "01874"
    assert run.n_subruns == 194
    assert run.run_type == DATA
    assert run.start == dt.datetime(2020, 1, 27, 20, 44, 13)
    assert run.dragon.event_id == 3  # the first valid event's id, not a module (summary_writer.py)
    assert run.dragon.ucts_t0_ns == 1580157904186709543
    assert run.dragon.counter_ns == 5186709300
    assert run.tib.counter_ns == 5186708700
    assert s.date == NIGHT and s.fmt == "text"


def test_night_with_nan_references_and_types():
    s = parse_night_summary_text(NIGHT_TEXT, "x", NIGHT)
    assert [r.run_type for r in s.runs] == [DRS4, CALI, DATA]
    assert not s.runs[0].dragon.valid and s.runs[1].dragon.valid
    assert s.n_subruns_total == 196


def test_roundtrip_text():
    s = parse_night_summary_text(NIGHT_TEXT, "x", NIGHT)
    again = parse_night_summary_text(write_night_summary_text(s), "y", NIGHT)
    assert [(r.run_id, r.n_subruns, r.run_type, r.start, r.dragon) for r in again.runs] == [
        (r.run_id, r.n_subruns, r.run_type, r.start, r.dragon) for r in s.runs
    ]


def test_crlf_comments_and_blank_lines_accepted():
    text = "# night of 2020-01-27\r\n\r\n" + NIGHT_TEXT.replace("\n", "\r\n")
    s = parse_night_summary_text(text, "x", NIGHT)
    assert len(s.runs) == 3 and s.runs[2].source_line == 5


def test_after_midnight_run_belongs_to_the_night():
    s = parse_night_summary_text("01880 3 DATA 2020-01-28 02:10:00 nan nan nan nan nan nan", "x", NIGHT)
    assert s.runs[0].start.date() == dt.date(2020, 1, 28)


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("", None, "empty"),
        ("# only a comment\n\n", None, "empty"),
        ("01874 194 DATA 2020-01-27", 1, "expected 11 fields"),
        ("01874 194 SKY 2020-01-27 20:44:13 nan nan nan nan nan nan", 1, "unknown run type 'SKY'"),
        ("01874 -3 DATA 2020-01-27 20:44:13 nan nan nan nan nan nan", 1, "between 1 and"),
        ("01874 1x DATA 2020-01-27 20:44:13 nan nan nan nan nan nan", 1, "whole number"),
        ("01874 0 DATA 2020-01-27 20:44:13 nan nan nan nan nan nan", 1, "between 1 and"),
        ("run74 5 DATA 2020-01-27 20:44:13 nan nan nan nan nan nan", 1, "run id"),
        ("01874 5 DATA 2020-02-27 20:44:13 nan nan nan nan nan nan", 1, "not in the night of 2020-01-27"),
        ("01874 5 DATA 2020-01-27 25:44:13 nan nan nan nan nan nan", 1, "run start"),
        ("01874 5 DATA 2020-01-27 20:44:13 0003 12x 5 nan nan nan", 1, "Dragon UCTS time"),
        ("01874 5 EDATA 2020-01-27 20:44:13 nan nan nan nan nan nan", 1, "marks the run as bad"),
    ],
)
def test_bad_text_names_file_and_line(text, line, words):
    """A summary without one usable run line is refused, naming the (first) bad line."""
    with pytest.raises(NightSummaryError) as err:
        parse_night_summary_text(text, "NightSummary_20200127.txt", NIGHT)
    msg = str(err.value)
    assert words in msg
    assert msg.startswith("NightSummary_20200127.txt" + (f":{line}:" if line else ":"))
    assert "\n" not in msg


BAD_ROWS = [
    ("01875 5 DATA 2020-02-27 20:44:13 nan nan nan nan nan nan", 1875, "not in the night of 2020-01-27"),
    ("01876 5 PEDESTAL 2020-01-27 21:44:13 nan nan nan nan nan nan", 1876, "unknown run type 'PEDESTAL'"),
    ("01877 1 ERROR 2020-01-27 21:50:13 -1 -1 -1 -1 -1 -1", 1877, "ERROR marks the run as bad"),
    ("01878 x3 DATA 2020-01-27 21:55:13 nan nan nan nan nan nan", 1878, "whole number, got 'x3'"),
    ("01879 5 DATA 2020-01-27", 1879, "expected 11 fields"),
    ("run80 5 DATA 2020-01-27 22:44:13 nan nan nan nan nan nan", None, "run id must be a whole number"),
    (SEED.replace(" 194 ", "   7 "), 1874, "duplicate run id (first on line 1)"),
]


def test_bad_rows_are_skipped_and_reported(caplog):
    """One bad row does not stop the night: it is left out, with file, line, run and reason."""
    text = SEED + "\n" + "\n".join(row for row, _, _ in BAD_ROWS) + "\n01881 9 DATA 2020-01-27 23:44:13 nan nan nan nan nan nan\n"
    s = parse_night_summary_text(text, "NightSummary_20200127.txt", NIGHT)
    assert [(r.run_id, r.n_subruns) for r in s.runs] == [(1874, 194), (1881, 9)]
    assert [(k.line, k.run_id) for k in s.skipped] == [(i + 2, run) for i, (_, run, _) in enumerate(BAD_ROWS)]
    for k, (_, _, words) in zip(s.skipped, BAD_ROWS):
        assert words in k.reason, k
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "NightSummary_20200127.txt:2: run 01875: starts on 2020-02-27, which is not in the night of 2020-01-27; row skipped" in warnings
    assert len(warnings) == len(BAD_ROWS)


ECSV = """\
# %ECSV 1.0
# ---
# delimiter: ','
# datatype:
# - {name: run_id, datatype: int64}
# - {name: n_subruns, datatype: int64}
# - {name: run_type, datatype: string}
# - {name: data_format, datatype: string}
# - {name: evb_preprocessing, datatype: string}
# - {name: ucts_timestamp, datatype: int64}
# - {name: run_start, datatype: int64}
# - {name: dragon_reference_time, datatype: int64}
# - {name: dragon_reference_module_id, datatype: int16}
# - {name: dragon_reference_module_index, datatype: int16}
# - {name: dragon_reference_counter, datatype: uint64}
# - {name: dragon_reference_source, datatype: string}
# meta: !!omap
# - {date: '2020-01-27'}
# - {lstchain_version: 0.12.3}
# schema: astropy-2.0
run_id,n_subruns,run_type,data_format,evb_preprocessing,ucts_timestamp,run_start,dragon_reference_time,dragon_reference_module_id,dragon_reference_module_index,dragon_reference_counter,dragon_reference_source
1872,1,DRS4,CTAR1,"[""BASELINE_SUBTRACTION""]",1580157000000000000,1580157000000000000,1580157000000000000,3,3,100,ucts
1873,1,PEDCALIB,CTAR1,"[]",-1,1580157300000000000,-1,-1,-1,-1,run_start
1874,194,DATA,CTAR1,"[]",1580157904186709543,1580157853000000000,1580157904186709543,3,3,5186709300,ucts
"""


def test_run_summary_ecsv():
    s = parse_run_summary_ecsv(ECSV, "RunSummary_20200127.ecsv", NIGHT)
    assert [(r.run_id, r.n_subruns, r.run_type) for r in s.runs] == [
        (1872, 1, DRS4), (1873, 1, CALI), (1874, 194, DATA)
    ]
    assert s.runs[2].dragon.ucts_t0_ns == 1580157904186709543
    assert s.runs[2].dragon.counter_ns == 5186709300
    assert not s.runs[1].dragon.valid
    assert s.runs[0].start.date() == NIGHT
    # lstchain's run_start is TAI ns: 1580157000 s TAI is 20:29:23 UTC (TAI - UTC = 37 s)
    assert s.runs[0].start == dt.datetime(2020, 1, 27, 20, 29, 23)
    assert s.runs[2].dragon.event_id is None  # a RunSummary names the module, not the event
    assert s.runs[2].source_line == 24


def test_run_summary_ecsv_errors():
    with pytest.raises(NightSummaryError, match="RunSummary is for night 2020-01-27, not 2020-01-28"):
        parse_run_summary_ecsv(ECSV, "r.ecsv", dt.date(2020, 1, 28))
    bad = ECSV.replace("1874,194,DATA", "1874,-5,DATA")
    s = parse_run_summary_ecsv(bad, "r.ecsv", NIGHT)
    assert [r.run_id for r in s.runs] == [1872, 1873]
    assert s.skipped[0].line == 24 and "number of sub-runs must be between 1 and" in s.skipped[0].reason
    only_bad = "\n".join(ECSV.splitlines()[:21] + ["1874,-5,DATA" + ECSV.splitlines()[-1][12:]]) + "\n"
    with pytest.raises(NightSummaryError, match=r"r\.ecsv:22: no usable run line: run 01874: number of sub-runs"):
        parse_run_summary_ecsv(only_bad, "r.ecsv", NIGHT)
    with pytest.raises(NightSummaryError, match="not an ECSV"):
        parse_run_summary_ecsv("run_id,n\n1,2\n", "r.ecsv", NIGHT)


def test_read_night_summary_detects_format(tmp_path):
    (tmp_path / "a.ecsv").write_text(ECSV)
    (tmp_path / "b.txt").write_text(NIGHT_TEXT)
    assert read_night_summary(tmp_path / "a.ecsv", NIGHT).fmt == "ecsv"
    assert read_night_summary(tmp_path / "b.txt", NIGHT).fmt == "text"
    (tmp_path / "c.txt").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(NightSummaryError, match="not a text file"):
        read_night_summary(tmp_path / "c.txt", NIGHT)
    with pytest.raises(NightSummaryError, match="does not exist"):
        read_night_summary(tmp_path / "missing.txt", NIGHT)


def test_scan_raw_files(tmp_path):
    for s in (1, 2, 3, 4):
        (tmp_path / f"LST-1.{s}.Run01874.0000.fits.fz").touch()
    (tmp_path / "LST-1.1.Run01874.0001.fits.fz").touch()
    (tmp_path / "notes.txt").touch()
    found = scan_raw_files(tmp_path)
    assert found == {(1874, 0): {1, 2, 3, 4}, (1874, 1): {1}}
    assert scan_raw_files(tmp_path / "nope") == {}
