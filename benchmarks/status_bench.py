#!/usr/bin/env python
"""How long `lstosa-status` takes on a large, partly processed night (the target: under 2 s for
10,000 sub-runs, see lstosa_snake.status.overview). Prints a table; --json writes the figures and the status.

    .venv/bin/python benchmarks/status_bench.py [--sizes 1521 10000] [--repeat 3] [--json FILE]

For each night size: the seed-shaped tree (lstosa_snake.night.scale: night summary, empty R0 stand-ins) gets
its products touched in a fixed pattern (placement()): every product of the first DATA run, merged;
of every other DATA run of n sub-runs the DL1 of sub-runs < n/2, datacheck < n/4, DL2 < n/8 and a
failure marker for sub-run n-1; the calibration files. Then `lstosa-status --json` and the table are
timed (wall and CPU of the process, the fastest of --repeat runs), and the JSON status is compared
with the placement ("status matches": every DATA run's done counts and failed sub-runs as placed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(ROOT / "src"))
from lstosa_snake.night.plan import night_paths  # noqa: E402
from lstosa_snake.night.scale import write_seed_shaped_tree  # noqa: E402

NIGHT = dt.date(2020, 1, 27)


def placement(run_index: int, n: int) -> dict:
    """What is touched for the DATA run at RUN_INDEX (0 = the first) of N sub-runs: the expected status."""
    if run_index == 0:
        return {"planned_subruns": n, "done": {"r0_to_dl1": n, "datacheck": n, "dl1_to_dl2": n},
                "failed_subruns": [], "merged": True}
    return {"planned_subruns": n, "done": {"r0_to_dl1": n // 2, "datacheck": n // 4, "dl1_to_dl2": n // 8},
            "failed_subruns": [n - 1], "merged": False}


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def make_night(data: Path, size: int) -> tuple[dict, dict]:
    """The tree and its products; returns (config, {run: expected})."""
    summary = write_seed_shaped_tree(data, NIGHT, size)
    config = {"date": str(NIGHT), "data_root": str(data), "output_root": None, "prod_id": "v0.12",
              "calibration_version": "v0.12.3"}
    p = night_paths(config, ROOT)
    drs4, cali = (next(r.run_id for r in summary.runs if r.run_type == t) for t in ("DRS4", "CALI"))
    touch(p.drs4_pedestal(drs4))
    touch(p.charge_calibration(cali))
    touch(p.time_calibration(cali))
    expected = {}
    for i, run in enumerate(r for r in summary.runs if r.run_type == "DATA"):
        exp = expected[run.run_id] = placement(i, run.n_subruns)
        for stage, method in (("r0_to_dl1", p.dl1_subrun), ("datacheck", p.datacheck_subrun),
                              ("dl1_to_dl2", p.dl2_subrun)):
            for s in range(exp["done"][stage]):
                touch(method(run.run_id, s))
        if exp["merged"]:
            for method in (p.dl1_run, p.dl2_run, p.muons_run, p.datacheck_run_pdf):
                touch(method(run.run_id))
        for s in exp["failed_subruns"]:
            marker = p.running_dir / "failures" / f"r0_to_dl1_run_{run.run_id:05d}_sub-run_{s:04d}.txt"
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(f"r0_to_dl1 run {run.run_id:05d} sub-run {s:04d} failed (exit 1): benchmark\n")
    return config, expected


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall s, CPU s (user+sys of the process) and stdout of one command."""
    with tempfile.TemporaryFile("w+") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        err = proc.stderr.read()
        proc.stderr.close()
        out.seek(0)
        text = out.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, text


def best(repeat: int, cmd: list[str]) -> tuple[float, float, str]:
    return min((timed(cmd) for _ in range(repeat)), key=lambda r: r[0])


def matches(status: dict, expected: dict) -> bool:
    seqs = {s["run"]: s for s in status["sequences"] if s["type"] == "DATA"}
    return seqs.keys() == expected.keys() and all(
        seqs[run][key] == exp[key] for run, exp in expected.items()
        for key in ("planned_subruns", "done", "failed_subruns"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1521, 10000])
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the fastest counts")
    ap.add_argument("--json", type=Path, help="write the figures, the status and the expected numbers here")
    args = ap.parse_args()
    rows, dump = [], []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            config, expected = make_night(data, size)
            cmd = [str(BIN / "lstosa-status"), "--date", config["date"], "--data-root", str(data)]
            jw, jcpu, jout = best(args.repeat, [*cmd, "--json"])
            tw, tcpu, tout = best(args.repeat, cmd)
            status = json.loads(jout)
            ok = matches(status, expected)
            files = sum(len(f) for _, _, f in os.walk(data))
            rows.append((size, len(expected), files, jw, jcpu, tw, tcpu, ok))
            dump.append({"subruns": size, "files": files, "json_wall_s": jw, "json_cpu_s": jcpu, "table_wall_s": tw,
                         "table_cpu_s": tcpu, "status_matches": ok, "status": status, "table": tout,
                         "expected": {str(k): v for k, v in expected.items()}})
    print(f"{'sub-runs':>8} {'runs':>5} {'files':>7} {'json s':>7} {'json CPU s':>10} {'table s':>7} "
          f"{'table CPU s':>11} {'status matches':>14}")
    for r in rows:
        print(f"{r[0]:>8} {r[1]:>5} {r[2]:>7} {r[3]:>7.2f} {r[4]:>10.2f} {r[5]:>7.2f} {r[6]:>11.2f} {str(r[7]):>14}")
    if args.json:
        args.json.write_text(json.dumps(dump, indent=1))
    return 0 if all(r[7] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
