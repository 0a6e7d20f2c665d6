"""Sequencing a night: which calibration serves which DATA run.

A *calibration sequence* is a DRS4 pedestal run paired with a calibration (CALI/PEDCALIB) run:
the DRS4 run gives the baseline, the CALI run the charge and time calibration. Every DATA run
is a sequence of its own whose parent is the calibration sequence chosen for it:

* ``closest_before`` (default): the calibration pair taken closest before the DATA run, falling
  back to the nearest one after it when none was taken before;
* ``last_of_night``: the last pair of the night for every run (LSTOSA's behaviour since 2022).

A night without a CALI run looks back at most ``lookback_nights`` nights:

* with DRS4 runs tonight, it pairs tonight's DRS4 run (the one chosen by the policy) with the last
  PEDCALIB run of the most recent earlier night whose raw files are still there, and computes that
  calibration tonight, as LSTOSA does (tonight's DRS4 baseline is the better one);
* otherwise it borrows the most recent earlier night's finished calibration files.

A night with calibration runs but no DATA run still calibrates (its last pair), so that the nights
after it have a calibration to borrow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Iterable

from lstosa_snake.core.errors import SequenceError

from .nightsummary import CALI, DATA, DRS4, NightSummary, Run

POLICIES = ("closest_before", "last_of_night")


@dataclass(frozen=True)
class Calibration:
    """A DRS4 + CALI pair; ``date`` is the night whose calibration files it is (earlier for borrowed
    files); ``cali_night`` the night the CALI run was taken when that is earlier than ``date``."""

    drs4_run: int
    cali_run: int
    date: dt.date
    borrowed: bool = False
    cali_night: dt.date | None = None

    @property
    def label(self) -> str:
        tag = " borrowed" if self.borrowed else ""
        cali = f" of {self.cali_night}" if self.cali_night else ""
        return f"DRS4 {self.drs4_run:05d} + CALI {self.cali_run:05d}{cali} ({self.date}{tag})"


@dataclass(frozen=True)
class Sequence:
    seq: int
    run: Run
    parent: int | None
    calibration: Calibration | None

    @property
    def kind(self) -> str:
        return self.run.run_type


def pair_calibrations(summary: NightSummary) -> list[tuple[Run, Run]]:
    """Pair every CALI run with the DRS4 run taken closest before it (else the nearest after).

    Returns (drs4, cali) pairs in data-taking order of the CALI runs.
    """
    drs4_runs = sorted(summary.by_type(DRS4), key=lambda r: r.sort_key)
    pairs = []
    for cali in sorted(summary.by_type(CALI), key=lambda r: r.sort_key):
        before = [d for d in drs4_runs if d.sort_key < cali.sort_key]
        after = [d for d in drs4_runs if d.sort_key > cali.sort_key]
        if before:
            pairs.append((before[-1], cali))
        elif after:
            pairs.append((after[0], cali))
    return pairs


def choose_calibration(run: Run, pairs: list[tuple[Run, Run]], policy: str) -> tuple[Run, Run]:
    """Pick the calibration pair for one DATA run under ``policy`` (``pairs`` ordered by time)."""
    if policy not in POLICIES:
        raise SequenceError(f"unknown calibration policy {policy!r} (known: {', '.join(POLICIES)})")
    if not pairs:
        raise SequenceError("no calibration pair to choose from")
    if policy == "last_of_night":
        return max(pairs, key=lambda p: (p[1].run_id, _pair_time(p)))
    before = [p for p in pairs if _pair_time(p) < run.sort_key]
    if before:
        return before[-1]
    return pairs[0]  # the nearest after: pairs are in time order


def _pair_time(pair: tuple[Run, Run]):
    """A pair is usable once both runs are taken (a CALI run of an earlier night: once the DRS4 is)."""
    return max(pair[0].sort_key, pair[1].sort_key)


def tonights_drs4_for(summary: NightSummary, policy: str) -> Run | None:
    """With a CALI run of an earlier night, the one DRS4 run of tonight to pair it with (one pair:
    the charge calibration file is named after the CALI run): the last one under ``last_of_night``
    (LSTOSA), else the one closest before the first DATA run, else the first one."""
    drs4_runs = sorted(summary.by_type(DRS4), key=lambda r: r.sort_key)
    if not drs4_runs:
        return None
    data_runs = sorted(summary.by_type(DATA), key=lambda r: r.sort_key)
    if policy == "last_of_night" or not data_runs:
        return drs4_runs[-1]
    before = [d for d in drs4_runs if d.sort_key < data_runs[0].sort_key]
    return before[-1] if before else drs4_runs[0]


def build_sequences(
    summary: NightSummary,
    policy: str = "closest_before",
    find_earlier: Callable[[], Calibration | None] | None = None,
    lookback_nights: int = 4,
    find_earlier_cali: Callable[[], tuple[Run, dt.date] | None] | None = None,
) -> list[Sequence]:
    """Sequences of the night: calibration sequences first, then one per DATA run.

    Without a CALI run tonight, ``find_earlier_cali`` is asked for the last CALI run of an earlier
    night whose raw files exist (paired with tonight's DRS4 run), then ``find_earlier`` for finished
    calibration files to borrow; both must respect the look-back limit.
    """
    if policy not in POLICIES:
        raise SequenceError(f"unknown calibration policy {policy!r} (known: {', '.join(POLICIES)})")
    pairs = pair_calibrations(summary)
    sequences: list[Sequence] = []
    parent_of: dict[int, int] = {}
    data_runs = sorted(summary.by_type(DATA), key=lambda r: r.sort_key)
    cali_night = None
    if not pairs and data_runs:
        drs4 = tonights_drs4_for(summary, policy)
        earlier = find_earlier_cali() if (find_earlier_cali and drs4) else None
        if earlier is not None:
            cali, cali_night = earlier
            pairs = [(drs4, cali)]
    for drs4, cali in pairs:
        cal = Calibration(drs4.run_id, cali.run_id, summary.date, cali_night=cali_night)
        sequences.append(Sequence(len(sequences), cali, None, cal))
        parent_of[cali.run_id] = sequences[-1].seq
    if not data_runs:
        return sequences
    borrowed = None
    if not pairs:
        borrowed = find_earlier() if find_earlier else None
        if borrowed is None:
            has = [t for t in (DRS4, CALI) if summary.by_type(t)]
            why = f"tonight: {' and '.join(has)} runs only" if has else "tonight: no DRS4 and no CALI run"
            raise SequenceError(
                f"night {summary.date} has no DRS4+CALI calibration pair and no earlier night within "
                f"{lookback_nights} nights holds a PEDCALIB run with raw files or complete calibration files ({why})"
            )
    for run in data_runs:
        if borrowed is not None:
            sequences.append(Sequence(len(sequences), run, None, borrowed))
            continue
        drs4, cali = choose_calibration(run, pairs, policy)
        cal = Calibration(drs4.run_id, cali.run_id, summary.date, cali_night=cali_night)
        sequences.append(Sequence(len(sequences), run, parent_of[cali.run_id], cal))
    return sequences


def find_earlier_calibration(
    night: dt.date,
    lookback_nights: int,
    calibrations_on_disk: Callable[[dt.date], Iterable[tuple[int, int]]],
) -> Calibration | None:
    """Most recent complete calibration of the ``lookback_nights`` nights before ``night``.

    ``calibrations_on_disk(date)`` yields (drs4_run, cali_run) pairs whose files all exist for
    that night; the last pair of the most recent such night is borrowed.
    """
    for back in range(1, lookback_nights + 1):
        earlier = night - dt.timedelta(days=back)
        found = sorted(calibrations_on_disk(earlier), key=lambda p: p[1])
        if found:
            drs4, cali = found[-1]
            return Calibration(drs4, cali, earlier, borrowed=True)
    return None
