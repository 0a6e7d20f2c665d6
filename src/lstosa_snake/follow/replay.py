"""``lstosa-replay``: write a night's raw files into ``R0/<date>/`` over time, as data taking does.

For tests and demos of the follow mode (``lstosa-follow``). Source: an R0 directory of a generated
night (``lstosa-make-night``). The four streams of a sub-run are written side by side, each under
its final name, growing in ``--chunks`` pieces over ``--subrun-seconds``, then the next sub-run's files
are opened, as the event builder does (rawwatch.py says how the follow mode tells a finished file
from one being written). Runs follow each other in run-number order with ``--run-gap`` seconds between
them. The night's drive log (and RunCatalog, if any) is copied first, as the telescope's drive system
writes it during the night.

Existing raw files are never overwritten: with ``--resume`` the complete ones are skipped (the replay
continues after being stopped), otherwise the replay refuses to start.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from pathlib import Path

from lstosa_snake.night.dates import compact, parse_night_date

_NAME = re.compile(r"^LST-1\.([1-4])\.Run(\d{5})\.(\d{4})\.fits\.fz$")


def source_plan(source_r0: Path) -> dict[int, dict[int, dict[int, Path]]]:
    """run -> sub-run -> stream -> source file."""
    plan: dict[int, dict[int, dict[int, Path]]] = {}
    for f in sorted(Path(source_r0).iterdir()):
        m = _NAME.match(f.name)
        if m:
            stream, run, subrun = (int(g) for g in m.groups())
            plan.setdefault(run, {}).setdefault(subrun, {})[stream] = f
    return plan


def replay(source_r0: Path, target_r0: Path, subrun_seconds: float, run_gap: float, chunks: int = 4,
           resume: bool = False, runs: list[int] | None = None, sleep=time.sleep, say=print) -> int:
    """Write the files; returns how many were written."""
    plan = source_plan(source_r0)
    if runs:
        plan = {r: plan[r] for r in runs if r in plan}
    target_r0.mkdir(parents=True, exist_ok=True)
    written = 0
    for i, run in enumerate(sorted(plan)):
        if i:
            sleep(run_gap)
        for subrun in sorted(plan[run]):
            files = plan[run][subrun]
            targets = {k: target_r0 / src.name for k, src in files.items()}
            done = [k for k, t in targets.items() if t.exists()]
            if done:
                if resume and all(targets[k].stat().st_size == files[k].stat().st_size for k in done) \
                        and len(done) == len(files):
                    continue
                if not resume or any(targets[k].stat().st_size != files[k].stat().st_size for k in done):
                    raise FileExistsError(
                        f"{targets[done[0]]} exists{' with another size' if resume else ''}: raw data is never "
                        "overwritten (--resume continues a stopped replay)")
            data = {k: files[k].read_bytes() for k in files if k not in done}
            handles = {k: open(targets[k], "wb") for k in data}
            try:
                for c in range(chunks):
                    for k, blob in data.items():
                        step = -(-len(blob) // chunks)
                        handles[k].write(blob[c * step:(c + 1) * step])
                        handles[k].flush()
                    sleep(subrun_seconds / chunks)
            finally:
                for fh in handles.values():
                    fh.close()
            written += len(data)
        say(f"run {run:05d}: {len(plan[run])} sub-runs written")
    return written


def copy_monitoring(source_root: Path, target_root: Path, date: str) -> None:
    """Drive log and RunCatalog of the night, when the source has them (never overwritten)."""
    for rel in (f"monitoring/DrivePositioning/DrivePosition_log_{date}.txt",
                f"monitoring/RunCatalog/RunCatalog_{date}.ecsv"):
        src, dst = source_root / rel, target_root / rel
        if src.is_file() and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lstosa-replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, type=Path, help="data root of a generated night")
    parser.add_argument("--data-root", required=True, type=Path, help="where to write R0/<date>/")
    parser.add_argument("--date", required=True)
    parser.add_argument("--subrun-seconds", type=float, default=10.0, help="time to write one sub-run (10)")
    parser.add_argument("--run-gap", type=float, default=60.0, help="seconds between runs (60)")
    parser.add_argument("--chunks", type=int, default=4, help="pieces each file is written in (4)")
    parser.add_argument("--run", type=int, action="append", help="only these runs (repeatable)")
    parser.add_argument("--resume", action="store_true", help="skip the files a stopped replay completed")
    args = parser.parse_args(argv)
    try:
        date = compact(parse_night_date(args.date))
        source_r0 = args.source / "R0" / date
        if not source_r0.is_dir():
            raise FileNotFoundError(f"{source_r0} does not exist")
        copy_monitoring(args.source, args.data_root, date)
        n = replay(source_r0, args.data_root / "R0" / date, args.subrun_seconds, args.run_gap, max(1, args.chunks),
                   args.resume, args.run, say=lambda t: print(f"lstosa-replay: {t}", flush=True))
    except (OSError, ValueError) as exc:
        print(f"lstosa-replay: ERROR: {exc}", file=sys.stderr)
        return 2
    print(f"lstosa-replay: {n} files written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
