#!/usr/bin/env python
"""Night-scale orchestration benchmarks (issue: performance). Prints a table.

    .venv/bin/python benchmarks/dag_bench.py [--sizes 1521 5000 10000] [--repeat 1]

For each night size (seed-shaped night summary + empty R0 stand-ins, see lstosa_snake.scale):
  dag       `snakemake -n` of our workflow: CPU s, peak RSS MB, ms CPU per job
  ref       the same for the bare reference Snakefile (benchmarks/reference) -> ratio
  noop      `snakemake -n` after every product exists (a no-op re-run of a completed night)
  status    `lstosa-status --json`
  parse     parse time every SLURM job pays: `snakemake --list-rules` on the night
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(ROOT / "src"))
from lstosa_snake.scale import write_seed_shaped_tree  # noqa: E402

NIGHT = dt.date(2020, 1, 27)


def measure(cmd, cwd=None):
    """Wall s, CPU s (user+sys of the children) and peak RSS MB of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024, proc.stdout + proc.stderr


def jobs_in(output):
    m = re.search(r"^total\s+(\d+)$", output, re.M)
    return int(m.group(1)) if m else 0


def complete_night(sm_prefix, conf):
    """Make the night look processed: every output the dry run plans exists (empty), then
    `snakemake --touch` gives them the DAG's mtime order without running anything."""
    out = subprocess.run([*sm_prefix, "-n", "--config", *conf], capture_output=True, text=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("output:"):
            for f in line[len("output:"):].split(","):
                path = Path(f.strip())
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
    subprocess.run([*sm_prefix, "--touch", "--config", *conf], capture_output=True, text=True, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1521, 5000, 10000])
    args = ap.parse_args()
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            data = tmp / "data"
            write_seed_shaped_tree(data, NIGHT, n)
            (tmp / "models").mkdir()
            cfg = tmp / "cfg.json"
            cfg.write_text("{}")
            conf = [f"date={NIGHT}", f"data_root={data}", f"models_dir={tmp / 'models'}", f"lstchain_config={cfg}",
                    f"calibration_config={cfg}", f"time_calibration_config={cfg}"]
            sm = [str(BIN / "snakemake"), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp),
                  "--cores", "2", "--quiet", "rules", "--config", *conf]
            w, cpu, rss, out = measure([*sm[:-len(conf) - 1], "-n", "--config", *conf])
            jobs = jobs_in(out)
            ref = [str(BIN / "snakemake"), "--snakefile", str(ROOT / "benchmarks" / "reference" / "Snakefile"),
                   "--directory", str(tmp / "ref"), "--cores", "2", "-n", "--quiet", "rules", "--workflow-profile", "none",
                   "--config", f"data_root={data}", f"date={NIGHT:%Y%m%d}", f"out={tmp / 'ref_out'}"]
            (tmp / "ref").mkdir()
            rw, rcpu, rrss, rout = measure(ref)
            rjobs = jobs_in(rout)
            pw, pcpu, _, _ = measure([*sm[:5], "--list-rules", "--config", *conf])
            complete_night([str(BIN / "snakemake"), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp),
                            "--cores", "1"], conf)
            nw, ncpu, _, nout = measure([*sm[:-len(conf) - 1], "-n", "--config", *conf])
            assert jobs_in(nout) == 0, nout[-800:]  # a completed night: nothing to run
            sw, scpu, _, _ = measure([str(BIN / "lstosa-status"), "--date", str(NIGHT), "--data-root", str(data),
                                      "--json"])
            rows.append((n, jobs, cpu, rss, 1000 * cpu / jobs, rjobs, rcpu, cpu / rcpu, nw, sw, pw))
    print(f"{'sub-runs':>8} {'jobs':>6} {'dag CPU s':>9} {'peak MB':>8} {'ms/job':>7} {'ref jobs':>8} "
          f"{'ref CPU s':>9} {'ratio':>6} {'no-op s':>8} {'status s':>8} {'parse s':>8}")
    for r in rows:
        print(f"{r[0]:>8} {r[1]:>6} {r[2]:>9.1f} {r[3]:>8.0f} {r[4]:>7.2f} {r[5]:>8} {r[6]:>9.1f} {r[7]:>6.2f} "
              f"{r[8]:>8.1f} {r[9]:>8.2f} {r[10]:>8.2f}")


if __name__ == "__main__":
    main()
