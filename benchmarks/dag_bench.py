#!/usr/bin/env python
"""Night-scale orchestration benchmarks (issue: performance). Prints a table.

    .venv/bin/python benchmarks/dag_bench.py [--sizes 1521 5000 10000] [--repeat 1]

For each night size (seed-shaped night summary + empty R0 stand-ins, see lstosa_snake.night.scale):
  dag       `snakemake -n` of our workflow: CPU s, peak RSS MB, ms CPU per job
  ref       the same for the bare reference Snakefile (benchmarks/reference/Snakefile, every job a
            `touch`) -> ratio: the target measure
  decl      the same for the declared reference (benchmarks/reference/Snakefile.declared: the bare
            graph with our per-job declarations, no project code) -> ratio: our own code's share
  noop      `snakemake -n` after every product exists (a no-op re-run of a completed night)
  status    `lstosa-status --json`
  start     Snakemake start-up alone: `--list-rules` of a one-rule Snakefile (wall s)
  parse     `snakemake --list-rules` on the night: start-up + parsing our Snakefile (wall s)
  job       what a SLURM job runs before its tool: Snakemake on one target job (r0_to_dl1 of the
            first sub-run, `--target-jobs ... --allowed-rules r0_to_dl1 -n`) in the completed night
All CPU figures are user+sys of the Snakemake process; the best of --repeat runs is kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(ROOT / "src"))
from lstosa_snake.night.scale import write_seed_shaped_tree  # noqa: E402

NIGHT = dt.date(2020, 1, 27)


def measure(cmd, cwd=None):
    """Wall s, CPU s (user+sys) and peak RSS MB of one command: os.wait4 gives that process's own usage."""
    with tempfile.TemporaryFile("w+") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {text[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text


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


def best(repeat, cmd, cwd=None):
    """measure() repeated: the fastest run (by CPU) counts."""
    return min((measure(cmd, cwd) for _ in range(repeat)), key=lambda r: r[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1521, 5000, 10000])
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest counts")
    args = ap.parse_args()
    rows = []
    one_rule = Path(tempfile.mkdtemp()) / "Snakefile"
    one_rule.write_text("rule all:\n    shell: 'true'\n")
    start_w, _, _, _ = best(args.repeat, [str(BIN / "snakemake"), "--snakefile", str(one_rule), "--list-rules",
                                          "--workflow-profile", "none"], cwd=one_rule.parent)
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
            w, cpu, rss, out = best(args.repeat, [*sm[:-len(conf) - 1], "-n", "--config", *conf])
            jobs = jobs_in(out)
            ref = [str(BIN / "snakemake"), "--snakefile", str(ROOT / "benchmarks" / "reference" / "Snakefile"),
                   "--directory", str(tmp / "ref"), "--cores", "2", "-n", "--quiet", "rules", "--workflow-profile", "none",
                   "--config", f"data_root={data}", f"date={NIGHT:%Y%m%d}", f"out={tmp / 'ref_out'}"]
            (tmp / "ref").mkdir()
            rw, rcpu, rrss, rout = best(args.repeat, ref)
            rjobs = jobs_in(rout)
            decl = [ref[0], "--snakefile", str(ROOT / "benchmarks" / "reference" / "Snakefile.declared"),
                    *ref[3:-1], f"out={tmp / 'decl_out'}"]
            _, dcpu, _, dout = best(args.repeat, decl)
            djobs = jobs_in(dout)
            pw, pcpu, _, _ = best(args.repeat, [*sm[:5], "--list-rules", "--config", *conf])
            complete_night([str(BIN / "snakemake"), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp),
                            "--cores", "1"], conf)
            nw, ncpu, _, nout = best(args.repeat, [*sm[:-len(conf) - 1], "-n", "--config", *conf])
            assert jobs_in(nout) == 0, nout[-800:]  # a completed night: nothing to run
            sw, scpu, _, _ = best(args.repeat, [str(BIN / "lstosa-status"), "--date", str(NIGHT), "--data-root",
                                                str(data), "--json"])
            first = sorted((data / "R0" / f"{NIGHT:%Y%m%d}").glob("LST-1.1.Run*.0000.fits.fz"))[2]  # a DATA run
            run = first.name.split(".")[2][3:]
            jw, _, _, _ = best(args.repeat, [*sm[:5], "-n", "--target-jobs", f"r0_to_dl1:run={run},subrun=0000",
                                             "--allowed-rules", "r0_to_dl1", "--config", *conf])
            rows.append((n, jobs, cpu, rss, 1000 * cpu / jobs, rjobs, rcpu, cpu / rcpu, djobs, dcpu, cpu / dcpu,
                         nw, sw, start_w, pw, jw))
    print(f"{'sub-runs':>8} {'jobs':>6} {'dag CPU s':>9} {'peak MB':>8} {'ms/job':>7} {'ref jobs':>8} "
          f"{'ref CPU s':>9} {'ratio':>6} {'decl jobs':>9} {'decl CPU s':>10} {'ratio':>6} {'no-op s':>8} "
          f"{'status s':>8} {'start s':>8} {'parse s':>8} {'job s':>6}")
    for r in rows:
        print(f"{r[0]:>8} {r[1]:>6} {r[2]:>9.1f} {r[3]:>8.0f} {r[4]:>7.2f} {r[5]:>8} {r[6]:>9.1f} {r[7]:>6.2f} "
              f"{r[8]:>9} {r[9]:>10.1f} {r[10]:>6.2f} {r[11]:>8.1f} {r[12]:>8.2f} {r[13]:>8.2f} {r[14]:>8.2f} "
              f"{r[15]:>6.2f}")


if __name__ == "__main__":
    main()
