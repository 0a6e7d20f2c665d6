"""Which raw files of a night being observed are complete: the follow mode's view of ``R0/<date>/``.

How the event builder writes (and how ``lstosa-replay`` imitates it): each of the four streams writes
its sub-run file under its final name, ``LST-1.<stream>.Run<run>.<subrun>.fits.fz``, growing while
events arrive, then closes it and opens the next sub-run's file. So a file that exists may still be
growing. Here a stream file counts as **complete** when the same stream has moved on (the file of the
next sub-run exists) or when its run has **ended**; a sub-run is complete when its four streams are.

A run has ended when a later run has written files and this run's files did not change since the
previous look, when its files have not changed for ``quiet_s`` seconds, or when the night is over.
A sub-run file is never handed to a tool before that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lstosa_snake.night.nightsummary import raw_file_entries

STREAMS = (1, 2, 3, 4)

#: (run, sub-run, stream) -> size in bytes
Snapshot = dict[tuple[int, int, int], int]


def snapshot(r0_dir: Path) -> Snapshot:
    """One directory listing with sizes: (run, sub-run, stream) -> bytes."""
    out: Snapshot = {}
    for key, entry in raw_file_entries(r0_dir):
        if key[2] in STREAMS:
            try:
                out[key] = entry.stat().st_size
            except FileNotFoundError:  # removed between listing and stat
                continue
    return out


@dataclass
class RunView:
    """What is on disk for one run, and since when it has not changed."""

    run_id: int
    files: dict[tuple[int, int], int] = field(default_factory=dict)  # (sub-run, stream) -> size
    last_change: float = 0.0
    ended: bool = False

    @property
    def subruns(self) -> list[int]:
        return sorted({s for s, _ in self.files})

    def complete_subruns(self) -> list[int]:
        """Sub-runs whose four stream files are complete (see the module's docstring), in order,
        stopping at the first one that is not: sub-runs are processed in a gapless prefix."""
        out = []
        for s in self.subruns:
            streams_done = all(
                (s, k) in self.files and ((s + 1, k) in self.files or self.ended) for k in STREAMS
            )
            if not streams_done:
                break
            out.append(s)
        return out


@dataclass
class RawWatch:
    """Successive looks at the R0 directory; ``last_change`` per run survives restarts via ``state``."""

    r0_dir: Path
    quiet_s: float = 120.0
    runs: dict[int, RunView] = field(default_factory=dict)

    def look(self, now: float, night_over: bool = False) -> bool:
        """Take a new snapshot; returns True if anything changed since the previous look."""
        snap = snapshot(self.r0_dir)
        by_run: dict[int, dict[tuple[int, int], int]] = {}
        for (run, subrun, stream), size in snap.items():
            by_run.setdefault(run, {})[(subrun, stream)] = size
        changed = False
        for run, files in by_run.items():
            view = self.runs.get(run)
            if view is None:
                view = self.runs[run] = RunView(run, {}, now)
            if files != view.files:
                view.files = files
                view.last_change = now
                changed = True
        ordered = sorted(self.runs)
        for i, run in enumerate(ordered):
            view = self.runs[run]
            if view.ended:
                continue
            later_started = any(self.runs[r].files for r in ordered[i + 1:])
            unchanged = view.last_change < now  # not changed in this very look
            if night_over or (later_started and unchanged) or now - view.last_change >= self.quiet_s:
                view.ended = True
                changed = True
        return changed

    def state(self) -> dict:
        return {str(r): {"last_change": v.last_change, "ended": v.ended} for r, v in self.runs.items()}

    def restore(self, state: dict) -> None:
        """After a restart: ended runs stay ended; change times are kept (files are re-listed)."""
        for run, s in state.items():
            self.runs[int(run)] = RunView(int(run), {}, float(s.get("last_change", 0.0)), bool(s.get("ended")))

    def restore_files(self) -> None:
        """Fill the restored views with the files now on disk, without counting that as a change."""
        snap = snapshot(self.r0_dir)
        for (run, subrun, stream), size in snap.items():
            if run in self.runs:
                self.runs[run].files[(subrun, stream)] = size
