"""Calibration choice: closest before, fallback after, last of night, borrowing with look-back."""

import datetime as dt

import pytest

from lstosa_snake.core.errors import SequenceError
from lstosa_snake.night.nightsummary import parse_night_summary_text
from lstosa_snake.night.sequencing import (
    Calibration,
    build_sequences,
    choose_calibration,
    find_earlier_calibration,
    pair_calibrations,
)

NIGHT = dt.date(2020, 1, 27)


def night(*lines):
    text = "\n".join(f"{run:05d} {n} {kind} {when} nan nan nan nan nan nan" for run, n, kind, when in lines)
    return parse_night_summary_text(text, "test", NIGHT)


def cal_of(sequences):
    return {s.run.run_id: (s.calibration.drs4_run, s.calibration.cali_run) for s in sequences if s.kind == "DATA"}


TWO_PAIRS = night(
    (1, 1, "DRS4", "2020-01-27 20:00:00"),
    (2, 1, "CALI", "2020-01-27 20:05:00"),
    (3, 10, "DATA", "2020-01-27 20:10:00"),
    (4, 10, "DATA", "2020-01-27 21:10:00"),
    (5, 1, "DRS4", "2020-01-27 23:00:00"),
    (6, 1, "CALI", "2020-01-27 23:05:00"),
    (7, 10, "DATA", "2020-01-28 00:10:00"),
)


def test_single_pair_serves_all():
    s = night(
        (1872, 1, "DRS4", "2020-01-27 20:30:00"),
        (1873, 1, "CALI", "2020-01-27 20:35:00"),
        (1874, 194, "DATA", "2020-01-27 20:44:13"),
        (1875, 100, "DATA", "2020-01-27 21:44:13"),
    )
    seqs = build_sequences(s)
    assert [x.kind for x in seqs] == ["CALI", "DATA", "DATA"]
    assert cal_of(seqs) == {1874: (1872, 1873), 1875: (1872, 1873)}
    assert all(x.parent == 0 for x in seqs[1:])
    assert seqs[0].parent is None


def test_two_pairs_closest_before():
    assert cal_of(build_sequences(TWO_PAIRS)) == {3: (1, 2), 4: (1, 2), 7: (5, 6)}
    seqs = build_sequences(TWO_PAIRS)
    parents = {x.run.run_id: x.parent for x in seqs if x.kind == "DATA"}
    cali_seq = {x.run.run_id: x.seq for x in seqs if x.kind == "CALI"}
    assert parents == {3: cali_seq[2], 4: cali_seq[2], 7: cali_seq[6]}


def test_two_pairs_last_of_night():
    assert cal_of(build_sequences(TWO_PAIRS, policy="last_of_night")) == {3: (5, 6), 4: (5, 6), 7: (5, 6)}


def test_data_before_any_calibration_falls_back_to_nearest_after():
    s = night(
        (10, 5, "DATA", "2020-01-27 20:00:00"),
        (11, 1, "DRS4", "2020-01-27 21:00:00"),
        (12, 1, "CALI", "2020-01-27 21:05:00"),
        (13, 5, "DATA", "2020-01-27 21:10:00"),
        (14, 1, "DRS4", "2020-01-27 22:00:00"),
        (15, 1, "CALI", "2020-01-27 22:05:00"),
    )
    assert cal_of(build_sequences(s)) == {10: (11, 12), 13: (11, 12)}


def test_out_of_order_night_sorted_by_start_time():
    # Run ids do not follow time (e.g. a DAQ restart): start time decides.
    s = night(
        (20, 5, "DATA", "2020-01-27 23:30:00"),
        (21, 1, "DRS4", "2020-01-27 20:00:00"),
        (22, 1, "CALI", "2020-01-27 20:05:00"),
        (8, 1, "DRS4", "2020-01-27 23:00:00"),
        (9, 1, "CALI", "2020-01-27 23:05:00"),
        (30, 5, "DATA", "2020-01-27 21:00:00"),
    )
    assert pair_calibrations(s)[0][0].run_id == 21
    assert cal_of(build_sequences(s)) == {30: (21, 22), 20: (8, 9)}


def test_cali_paired_with_drs4_before_it():
    s = night(
        (1, 1, "DRS4", "2020-01-27 20:00:00"),
        (2, 1, "DRS4", "2020-01-27 20:01:00"),
        (3, 1, "CALI", "2020-01-27 20:05:00"),
    )
    assert [(d.run_id, c.run_id) for d, c in pair_calibrations(s)] == [(2, 3)]


def test_no_calibration_borrows_from_earlier_night():
    s = night((40, 5, "DATA", "2020-01-27 21:00:00"))
    on_disk = {dt.date(2020, 1, 24): [(30, 31), (32, 33)], dt.date(2020, 1, 20): [(1, 2)]}
    lookup = lambda d: on_disk.get(d, [])  # noqa: E731
    seqs = build_sequences(s, find_earlier=lambda: find_earlier_calibration(NIGHT, 4, lookup))
    assert seqs[0].calibration == Calibration(32, 33, dt.date(2020, 1, 24), borrowed=True)
    assert "borrowed" in seqs[0].calibration.label


def test_lookback_limit_applies():
    on_disk = {dt.date(2020, 1, 22): [(30, 31)]}  # five nights back
    lookup = lambda d: on_disk.get(d, [])  # noqa: E731
    assert find_earlier_calibration(NIGHT, 4, lookup) is None
    assert find_earlier_calibration(NIGHT, 5, lookup).date == dt.date(2020, 1, 22)
    s = night((40, 5, "DATA", "2020-01-27 21:00:00"))
    with pytest.raises(SequenceError, match="no DRS4\\+CALI calibration pair and no earlier night within 4 nights"):
        build_sequences(s, find_earlier=lambda: find_earlier_calibration(NIGHT, 4, lookup))


def test_calibration_only_night_has_no_data_sequences():
    s = night((1, 1, "DRS4", "2020-01-27 20:00:00"), (2, 1, "CALI", "2020-01-27 20:05:00"))
    seqs = build_sequences(s)
    assert [x.kind for x in seqs] == ["CALI"]


def test_unknown_policy():
    with pytest.raises(SequenceError, match="unknown calibration policy 'sometimes'"):
        choose_calibration(TWO_PAIRS.runs[2], pair_calibrations(TWO_PAIRS), "sometimes")
