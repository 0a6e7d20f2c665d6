#!/usr/bin/env python
"""Local scheduling overhead per job: what the Snakemake process itself spends per job it runs.

    .venv/bin/python benchmarks/sched_bench.py [--ours 700] [--ref 700 3340] [--subsample 100]

Each case runs a whole night for real with the local executor (--cores 2) and measures the CPU
time of the Snakemake process alone (its jobs are child processes, not counted), then the same
for a dry run of the same night. Per job:

  total ms/job      Snakemake's own CPU for the whole night / jobs
  sched ms/job      (whole night - dry run) / jobs: scheduling, job start, bookkeeping, logging,
                    i.e. what each additional job costs beyond building the DAG
  child ms/job      CPU of the job processes / jobs (our runner + tool start-up per job)

Cases:
  ours N            our Snakefile with the default profile on a night of N sub-runs in runs of 100,
                    with the FAKE lstchain tools of the operation tests (tests/fake_tools.py; each
                    writes a small text product): the workflow's plumbing without the science
  ref N             benchmarks/reference/Snakefile (every job a `touch`) on a seed-shaped night of
                    N sub-runs, greedy scheduler, with and without --scheduler-subsample
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]
from fake_tools import make_tools_bin, make_toy_night, toy_config_args  # noqa: E402
from lstosa_snake.night.scale import write_seed_shaped_tree  # noqa: E402

NIGHT = dt.date(2020, 1, 27)

# Runs Snakemake in this interpreter and reports its own CPU (threads included, children not).
SELF_CPU = """
import json, os, resource, runpy, sys
sys.argv = sys.argv[1:]
code = 0
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exc:
    code = exc.code or 0
r = resource.getrusage(resource.RUSAGE_SELF)
c = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(os.environ["SELF_CPU_OUT"], "w") as fh:
    json.dump({"self": r.ru_utime + r.ru_stime, "children": c.ru_utime + c.ru_stime, "code": code}, fh)
sys.exit(code)
"""


def snakemake_cpu(args: list[str], cwd: Path) -> tuple[float, float, float, str]:
    """(wall s, Snakemake's own CPU s, its children's CPU s, output) of one Snakemake run."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "SELF_CPU_OUT": out.name}
        t0 = time.perf_counter()
        proc = subprocess.run([str(BIN / "python"), "-c", SELF_CPU, str(BIN / "snakemake"), *args], cwd=cwd,
                              env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"snakemake {' '.join(args[:6])} ... failed:\n{proc.stderr[-3000:]}")
        usage = json.loads(Path(out.name).read_text())
    return wall, usage["self"], usage["children"], proc.stdout + proc.stderr


def count_jobs(output: str) -> int:
    m = re.search(r"^total\s+(\d+)$", output, re.M)
    if not m:
        raise RuntimeError("no job count in Snakemake's output")
    return int(m.group(1))


def measure(name: str, base_args: list[str], cwd: Path) -> dict:
    _, dry_cpu, _, out = snakemake_cpu([*base_args, "-n", "--quiet", "rules"], cwd)
    jobs = count_jobs(out)
    wall, cpu, child, out = snakemake_cpu(base_args, cwd)
    if count_jobs(out) != jobs or not re.search(rf"{jobs} of {jobs} steps \(100%\) done", out):
        raise RuntimeError(f"{name}: not all {jobs} jobs ran:\n{out[-2000:]}")
    row = {"case": name, "jobs": jobs, "wall": wall, "cpu": cpu, "dry": dry_cpu,
           "total_ms": 1000 * cpu / jobs, "sched_ms": 1000 * (cpu - dry_cpu) / jobs, "child_ms": 1000 * child / jobs}
    print(f"# {name}: {jobs} jobs in {wall:.0f} s; Snakemake CPU {cpu:.1f} s (dry run {dry_cpu:.1f} s)",
          file=sys.stderr, flush=True)
    return row


def ours(n_subruns: int, tmp: Path) -> dict:
    runs = {1874 + i: min(100, n_subruns - 100 * i) for i in range((n_subruns + 99) // 100)}
    data = tmp / "data"
    make_toy_night(data, NIGHT, runs)
    tools = make_tools_bin(tmp / "tools")
    args = ["--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp), "--cores", "2",
            "--config", f"date={NIGHT}", f"data_root={data}", *toy_config_args(tmp, tools)]
    return measure(f"ours {n_subruns} sub-runs (fake tools)", args, tmp)


def ref(n_subruns: int, tmp: Path, subsample: int | None) -> dict:
    data = tmp / "data"
    if not data.exists():
        write_seed_shaped_tree(data, NIGHT, n_subruns)
    work = tmp / f"ref-{subsample}"
    work.mkdir()
    extra = ["--scheduler-subsample", str(subsample)] if subsample else []
    args = ["--snakefile", str(ROOT / "benchmarks" / "reference" / "Snakefile"), "--directory", str(work),
            "--cores", "2", "--scheduler", "greedy", *extra, "--workflow-profile", "none",
            "--config", f"data_root={data}", f"date={NIGHT:%Y%m%d}", f"out={work / 'out'}"]
    label = f"ref {n_subruns} sub-runs, greedy" + (f" + subsample {subsample}" if subsample else "")
    return measure(label, args, tmp)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", type=int, nargs="*", default=[700], help="sub-runs of our fake-tool nights")
    ap.add_argument("--ref", type=int, nargs="*", default=[700, 3340], help="sub-runs of the reference nights")
    ap.add_argument("--subsample", type=int, default=100, help="--scheduler-subsample of the second ref case")
    args = ap.parse_args()
    rows = []
    for n in args.ours:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(ours(n, Path(tmp)))
    for n in args.ref:
        with tempfile.TemporaryDirectory() as tmp:
            for sub in (None, args.subsample):
                rows.append(ref(n, Path(tmp), sub))
    print(f"{'case':<44} {'jobs':>6} {'wall s':>7} {'CPU s':>7} {'dry s':>6} {'total ms/job':>12} "
          f"{'sched ms/job':>12} {'child ms/job':>12}")
    for r in rows:
        print(f"{r['case']:<44} {r['jobs']:>6} {r['wall']:>7.0f} {r['cpu']:>7.1f} {r['dry']:>6.1f} "
              f"{r['total_ms']:>12.1f} {r['sched_ms']:>12.1f} {r['child_ms']:>12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
