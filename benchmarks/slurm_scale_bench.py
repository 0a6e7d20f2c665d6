#!/usr/bin/env python
"""A night on a wide SLURM cluster: the workflow (profiles/slurm) against an LSTOSA-style sbatch --array script.

    .venv/bin/python benchmarks/slurm_scale_bench.py [--runs 22 21 21] [--sleep 40] [--partition wide]
    .venv/bin/python benchmarks/slurm_scale_bench.py --dl1b [--dl1ab-sleep 15] [--runs 22 21 21] [--sleep 60]
    .venv/bin/python benchmarks/slurm_scale_bench.py --dry-submit 1521

Side by side (default), in one run, on the test cluster (tests/infra/slurm.sh: one node advertising
32 CPUs, partition `wide`), with the fake lstchain tools of the tests (tests/fake_tools.py), whose
r0_to_dl1 sleeps --sleep seconds and whose other steps take a fraction of a second:

  workflow   `snakemake --profile profiles/slurm` on the night (every rule its own SLURM job)
  reference  what LSTOSA submits: one calibration job; per DATA run one `sbatch --array` (a task per
             sub-run running r0_to_dl1, dl1_datacheck, dl1_to_dl2 one after another) with
             `--dependency=afterok:<calibration>`; per run a closing job after its array; one night job.
             The reference runs the workflow's own commands (from its dry run), so both make the same
             products, which is checked.

Printed per variant: makespan (first submission to last job end; for the workflow, Snakemake's
whole wall time), ideal (ceil(sub-runs / CPUs) x sleep: the sub-run phase alone), sbatch calls,
peak number of r0_to_dl1 running at once, seconds until the last r0_to_dl1 was submitted, and the
CPU time of Snakemake itself (with the sbatch/squeue calls it made), and the CPU time of all SLURM jobs
(sacct TotalCPU): on a test node whose 32 CPUs are 2 real cores, the jobs' CPU is spent one core at
a time, so it adds to the makespan as it would not on a real 32-core node. Times from sacct (1 s
resolution). The "r0" columns count the SLURM jobs that run r0_to_dl1: the workflow's sub-run chain
jobs (subrun_chain.Run01874.0001), the reference's array tasks.

--dl1b: the workflow variant runs with the DL1b stages on (docs/dl1b.md: find_tailcuts and
catB_calibration per run, dl1ab per sub-run, run by the fake tools; the sub-run's work is then two
SLURM jobs, subrun_chain.RunNNNNN.SSSS = r0_to_dl1 and dl1b_chain.RunNNNNN.SSSS = dl1ab, dl1_datacheck,
dl1_to_dl2, with the run's find_tailcuts and catB_calibration jobs between them). The reference stays
without DL1b (LSTOSA's DL1b is a separate cron sequencer, not part of its arrays): the two variants do
different work, so "vs ref" and "same products" are printed for information only and the workflow is
judged against its own ideal, ceil(sub-runs / CPUs) x (--sleep + --dl1ab-sleep) (the r0 phase, then
the dl1b phase; the fake finder and Cat-B take a fraction of a second). Also printed: the peak number
of dl1b chains running at once and the phases from sacct (last r0_to_dl1 end, the finders' start and
end, first dl1b chain start, last dl1b chain end), i.e. the gaps the DL1b step adds.

--dry-submit N: a night of N sub-runs (in runs of at most 250) is submitted to a fake `sbatch` that
records each call and a fake `squeue` that reports every job running: the seconds from Snakemake's
start until all N r0_to_dl1 jobs were submitted (calibration products made beforehand, locally).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests"), str(ROOT / "src")]
from demo_bench import parse_dry_run  # noqa: E402
from fake_tools import make_toy_night, make_tools_bin, toy_config_args  # noqa: E402

SNAKEMAKE = ROOT / ".venv" / "bin" / "snakemake"
DATE = "2020-01-27"
SUBRUN_RULES = ("r0_to_dl1", "dl1_datacheck", "dl1_to_dl2")


def night(work: Path, runs: list[int], sleep: float, dl1b: bool = False, dl1ab_sleep: float = 0) -> list[str]:
    """Toy night + fake tools in WORK; the --config items of the workflow."""
    data = work / "data"
    make_toy_night(data, runs={1874 + i: n for i, n in enumerate(runs)})
    tools = make_tools_bin(work / "tools")
    (tools / "SLEEP").write_text(f"lstchain_data_r0_to_dl1 {sleep}\n" + (f"lstchain_dl1ab {dl1ab_sleep}\n" if dl1b else ""))
    return [f"date={DATE}", f"data_root={data}", f"output_root={work / 'out'}", *toy_config_args(work, tools, dl1b=dl1b)]


def sacct_rows(ids: list[str]) -> list[dict]:
    env = {**os.environ, "SLURM_TIME_FORMAT": "%s"}
    out = subprocess.run(["sacct", "-n", "-P", "-j", ",".join(ids), "-o", "JobIDRaw,JobName%100,State,Start,End,TotalCPU"],
                         capture_output=True, text=True, check=True, env=env, timeout=60).stdout
    rows = []
    for line in out.splitlines():
        jid, name, state, start, end, cpu = line.split("|")
        if "." in jid:
            continue  # steps (batch, extern): the allocation's TotalCPU includes them
        rows.append({"id": jid, "name": name, "state": state.split()[0], "cpu": cpu_seconds(cpu),
                     "start": float(start) if start.isdigit() else None, "end": float(end) if end.isdigit() else None})
    return rows


def cpu_seconds(text: str) -> float:
    """sacct's TotalCPU ([D-][HH:]MM:SS[.mmm]) in seconds."""
    days, _, rest = text.rpartition("-")
    parts = [float(p) for p in rest.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    return (float(days) if days else 0.0) * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]


def peak_concurrency(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    cur = peak = 0
    for _, d in events:
        cur += d
        peak = max(peak, cur)
    return peak


def wait_gone(ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["squeue", "-h", "-t", "PD,R,CG", "-o", "%i"], capture_output=True, text=True).stdout
        alive = {x.split("_")[0] for x in out.split()}
        if not alive & set(ids):
            return
        time.sleep(1)
    raise TimeoutError(f"reference jobs still queued after {timeout} s")


# --- the workflow ------------------------------------------------------------------------------------

def run_workflow(work: Path, cfg: list[str], partition: str, timeout: float) -> dict:
    spy = work / "spy"
    spy.mkdir()
    log = spy / "sbatch.log"
    real = shutil.which("sbatch")
    (spy / "sbatch").write_text(f'#!/bin/sh\necho "$(date +%s.%N) $*" | sed "s/ --wrap.*//" >> {shlex.quote(str(log))}\n'
                                f'exec {shlex.quote(real)} "$@"\n')
    (spy / "sbatch").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["PATH"] = f"{spy}:{ROOT / '.venv' / 'bin'}:{env['PATH']}"
    cmd = [str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work),
           "--profile", str(ROOT / "profiles" / "slurm"),
           "--default-resources", "mem_mb=2000", "runtime=60", f"slurm_partition={partition}", "--config", *cfg]
    t0 = time.time()
    with open(work / "snakemake.log", "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work)
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        except KeyboardInterrupt:
            proc.kill()
            raise
    wall = time.time() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"the workflow failed (rc {proc.returncode}): see {work / 'snakemake.log'}")
    calls = log.read_text().splitlines()
    r0_times = [float(c.split()[0]) for c in calls if "--job-name subrun_chain." in c]
    ids = [line.split("SLURM jobid ")[1].split()[0] for line in (work / "snakemake.log").read_text().splitlines()
           if "submitted with SLURM jobid" in line]
    rows = sacct_rows(ids)
    r0 = [(r["start"], r["end"]) for r in rows if r["name"].startswith("subrun_chain.") and r["state"] == "COMPLETED"]
    b = [(r["start"], r["end"]) for r in rows if r["name"].startswith("dl1b_chain.") and r["state"] == "COMPLETED"]
    phases = dl1b_phases(rows, t0) if b else {}
    failed = sorted(r["name"] for r in rows if r["state"] not in ("COMPLETED",))
    return {"makespan": wall, "sbatch": len(calls), "peak_r0": peak_concurrency(r0), "n_r0": len(r0),
            "peak_dl1b": peak_concurrency(b), "n_dl1b": len(b), "phases": phases, "not_completed": failed,
            "last_r0_submitted": max(r0_times) - t0, "cpu": ru.ru_utime + ru.ru_stime,
            "jobs_cpu": sum(r["cpu"] for r in rows), "products": products(work / "out")}


def dl1b_phases(rows: list[dict], t0: float) -> dict:
    """With DL1b, from sacct (seconds from Snakemake's start): when the r0_to_dl1 jobs, the finders and the
    dl1b chains ran, and per run the gap from its last r0_to_dl1 end to its first dl1b chain start (the
    finder, Cat-B and the SLURM hops between them)."""
    def run_of(name):
        return name.split(".Run")[1][:5]

    done = [r for r in rows if r["state"] == "COMPLETED" and r["start"] and r["end"]]
    kinds = {k: [r for r in done if r["name"].startswith(k + ".")]
             for k in ("subrun_chain", "find_tailcuts", "catB_calibration", "dl1b_chain")}
    out = {}
    for k, rs in kinds.items():
        if rs:
            out[k] = {"first_start": min(r["start"] for r in rs) - t0, "last_end": max(r["end"] for r in rs) - t0,
                      "max_duration": max(r["end"] - r["start"] for r in rs)}
    gaps = {}
    for run in sorted({run_of(r["name"]) for r in kinds["dl1b_chain"]}):
        last_r0 = max(r["end"] for r in kinds["subrun_chain"] if run_of(r["name"]) == run)
        first_b = min(r["start"] for r in kinds["dl1b_chain"] if run_of(r["name"]) == run)
        gaps[run] = first_b - last_r0
    out["r0_to_dl1b_gap_per_run"] = gaps
    return out


# --- the LSTOSA-style reference ------------------------------------------------------------------

def script(path: Path, commands: list[str], task_cases: dict[int, list[str]] | None = None) -> Path:
    lines = ["#!/bin/bash", "set -euo pipefail"]
    lines += commands
    if task_cases is not None:
        lines.append('case "$SLURM_ARRAY_TASK_ID" in')
        for i, cmds in task_cases.items():
            lines.append(f"{i})")
            lines += [f"  {c}" for c in cmds]
            lines.append("  ;;")
        lines.append("esac")
    path.write_text("\n".join(lines) + "\n")
    return path


def job_lines(job) -> list[str]:
    dirs = sorted({str(Path(p).parent) for p in job.outputs + job.log})
    return [f"mkdir -p {' '.join(shlex.quote(d) for d in dirs)}", job.cmd]


def toposort(jobs, idx: list[int]) -> list[int]:
    done, order, todo = set(), [], list(idx)
    while todo:
        for i in todo:
            if not (jobs[i].deps & set(idx)) - done:
                order.append(i)
                done.add(i)
                todo.remove(i)
                break
        else:
            raise RuntimeError("cycle in the dry run's jobs")
    return order


def run_reference(work: Path, cfg: list[str], partition: str, mem: dict[str, int], timeout: float) -> dict:
    dry = subprocess.run([str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work),
                          "-n", "-p", "--cores", "1", "--config", *cfg], capture_output=True, text=True, check=True)
    jobs = parse_dry_run(dry.stdout + dry.stderr)
    sub = {i for i, j in enumerate(jobs) if j.rule in SUBRUN_RULES}
    ancestors, stack = set(), [d for i in sub for d in jobs[i].deps]
    while stack:
        d = stack.pop()
        if d not in ancestors and d not in sub:
            ancestors.add(d)
            stack.extend(jobs[d].deps)
    rest = [i for i in range(len(jobs)) if i not in sub and i not in ancestors]
    per_run: dict[str, dict[str, list[int]]] = {}
    for i in sub:
        tag = next(o for o in jobs[i].outputs if ".Run" in o).split(".Run")[1][:10]  # 01874.0001
        per_run.setdefault(tag[:5], {}).setdefault(tag[6:], []).append(i)
    scripts = work / "reference"
    scripts.mkdir()
    base = ["sbatch", "--parsable", "-p", partition, "-c", "1", "-t", "60"]
    t0 = time.time()
    sbatch = 0

    def submit(args: list[str]) -> str:
        nonlocal sbatch
        sbatch += 1
        return subprocess.run(base + args, capture_output=True, text=True, check=True).stdout.strip().split(";")[0]

    cal_cmds = [c for i in toposort(jobs, sorted(ancestors)) for c in job_lines(jobs[i])]
    cal = submit(["-J", "calibration", "--mem", str(mem["calibration"]), "-o", str(scripts / "calibration.log"),
                  str(script(scripts / "calibration.sh", cal_cmds))])
    arrays, closers = [], []
    for run, subruns in sorted(per_run.items()):
        tasks = {k: [c for i in toposort(jobs, sorted(idx)) for c in job_lines(jobs[i])]
                 for k, (_, idx) in enumerate(sorted(subruns.items()))}
        arr = submit([f"--array=0-{len(tasks) - 1}", "-J", f"LST1_{run}", "--mem", str(mem["r0_to_dl1"]),
                      f"--dependency=afterok:{cal}", "-o", str(scripts / f"run{run}_%a.log"),
                      str(script(scripts / f"run{run}.sh", [], tasks))])
        arrays.append(arr)
        mine = [i for i in rest if any(f"Run{run}" in o and f"Run{run}." not in o.replace(f"Run{run}.h5", "")
                                       for o in jobs[i].outputs)]
        if mine:
            cmds = [c for i in toposort(jobs, mine) for c in job_lines(jobs[i])]
            closers.append(submit(["-J", f"closer_{run}", "--mem", str(mem["closer"]), f"--dependency=afterok:{arr}",
                                   "-o", str(scripts / f"closer{run}.log"),
                                   str(script(scripts / f"closer{run}.sh", cmds))]))
            rest = [i for i in rest if i not in mine]
    night_cmds = [c for i in toposort(jobs, rest) for c in job_lines(jobs[i])]
    final = submit(["-J", "night", "--mem", str(mem["closer"]),
                    f"--dependency=afterok:{':'.join(closers or arrays)}", "-o", str(scripts / "night.log"),
                    str(script(scripts / "night.sh", night_cmds))])
    last_submit = time.time() - t0
    ids = [cal, *arrays, *closers, final]
    wait_gone(ids, timeout)
    rows = sacct_rows(ids)
    bad = [r for r in rows if r["state"] != "COMPLETED"]
    if bad:
        raise RuntimeError(f"reference jobs failed: {bad[:3]} (logs in {scripts})")
    r0 = [(r["start"], r["end"]) for r in rows if r["name"].startswith("LST1_")]
    return {"makespan": max(r["end"] for r in rows) - t0, "sbatch": sbatch, "peak_r0": peak_concurrency(r0),
            "n_r0": len(r0), "last_r0_submitted": last_submit, "cpu": float("nan"),
            "jobs_cpu": sum(r["cpu"] for r in rows), "products": products(work / "out")}


def products(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for d in ("DL1", "DL2") for p in (out / d).rglob("*") if p.is_file()}


def node_cpus(partition: str) -> int:
    out = subprocess.run(["sinfo", "-h", "-p", partition, "-o", "%c"], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0].rstrip("+"))


def requests() -> dict[str, int]:
    """The workflow's own memory requests (attempt 1) for the reference's jobs."""
    from lstosa_snake.jobs.resources import mem_mb
    return {"r0_to_dl1": max(mem_mb(r)(None, 1) for r in SUBRUN_RULES),
            "calibration": max(mem_mb(r)(None, 1) for r in ("drs4_pedestal", "charge_calibration", "time_calibration")),
            "closer": max(mem_mb(r)(None, 1) for r in ("merge_dl1", "merge_dl2", "run_datacheck", "night_datacheck"))}


def side_by_side(args) -> int:
    work = Path(args.keep or tempfile.mkdtemp(prefix="lstosa-slurm-bench-"))
    cpus = node_cpus(args.partition)
    n = sum(args.runs)
    results = {}
    dl1b = {"reference": False, "workflow": args.dl1b}
    did = {"reference": "LSTOSA-style arrays, r0_to_dl1 -> dl1_datacheck -> dl1_to_dl2 per task, no DL1b",
           "workflow": ("profiles/slurm, DL1b on: r0_to_dl1 job, then per run find_tailcuts + catB_calibration, then "
                        f"dl1ab -> dl1_datacheck -> dl1_to_dl2 job per sub-run (fake dl1ab sleeps {args.dl1ab_sleep} s)"
                        if args.dl1b else "profiles/slurm, no DL1b: r0_to_dl1 -> dl1_datacheck -> dl1_to_dl2 job per sub-run")}
    for variant in ("reference", "workflow"):
        d = work / variant
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        cfg = night(d, args.runs, args.sleep, dl1b=dl1b[variant], dl1ab_sleep=args.dl1ab_sleep)
        print(f"# {variant}: {len(args.runs)} DATA runs, {n} sub-runs, r0_to_dl1 sleeps {args.sleep} s, "
              f"{cpus} CPUs ({d}): {did[variant]}", file=sys.stderr, flush=True)
        if variant == "reference":
            results[variant] = run_reference(d, cfg, args.partition, requests(), args.timeout)
        else:
            results[variant] = run_workflow(d, cfg, args.partition, args.timeout)
    waves = math.ceil(n / cpus)
    ideal = waves * args.sleep
    ideal_wf = waves * (args.sleep + args.dl1ab_sleep) if args.dl1b else ideal
    ref = results["reference"]["makespan"]
    print(f"{'variant':<10} {'makespan s':>10} {'ideal s':>8} {'vs ideal':>8} {'vs ref':>7} {'sbatch':>7} {'peak r0':>8} "
          f"{'r0 jobs':>8} {'last r0 sub. s':>14} {'Snakemake CPU s':>15} {'jobs CPU s':>10}")
    for v, r in results.items():
        i = ideal_wf if v == "workflow" else ideal
        print(f"{v:<10} {r['makespan']:>10.1f} {i:>8.0f} {r['makespan'] / i:>8.2f} {r['makespan'] / ref:>7.2f} "
              f"{r['sbatch']:>7} {r['peak_r0']:>8} {r['n_r0']:>8} {r['last_r0_submitted']:>14.1f} {r['cpu']:>15.1f} "
              f"{r['jobs_cpu']:>10.1f}")
    for v in results:
        print(f"{v}: {did[v]}")
    wf = results["workflow"]
    if args.dl1b:
        print("(the variants do different work: 'vs ref' and the products' comparison are for information; the "
              f"workflow's ideal is ceil({n}/{cpus}) x ({args.sleep:g} + {args.dl1ab_sleep:g}) s: r0 phase + dl1b phase)")
        print(f"workflow dl1b chains: {wf['n_dl1b']} completed, peak {wf['peak_dl1b']} at once")
        for k, ph in wf["phases"].items():
            if k == "r0_to_dl1b_gap_per_run":
                print("  gap last r0_to_dl1 end -> first dl1b chain start, per run: "
                      + ", ".join(f"{run} {g:.0f} s" for run, g in ph.items()))
            else:
                print(f"  {k:<17} first start {ph['first_start']:7.1f} s  last end {ph['last_end']:7.1f} s  "
                      f"longest job {ph['max_duration']:5.0f} s")
    if wf.get("not_completed"):
        print(f"workflow SLURM jobs not COMPLETED (retried or failed): {wf['not_completed']}")
    same = results["reference"]["products"] == results["workflow"]["products"]
    print(f"same DL1/DL2 products: {same} ({len(results['workflow']['products'])} files)")
    if args.json:
        Path(args.json).write_text(json.dumps({v: {k: x for k, x in r.items() if k != "products"}
                                               for v, r in results.items()}
                                              | {"ideal": ideal, "ideal_workflow": ideal_wf, "cpus": cpus,
                                                 "subruns": n, "same_products": same, "dl1b": args.dl1b,
                                                 "variants": did, "sleep": args.sleep,
                                                 "dl1ab_sleep": args.dl1ab_sleep}, indent=1))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    # with DL1b the products differ by design (DL1b files, tail cuts): success is the workflow completing
    return 0 if same or args.dl1b else 1


# --- dry submission at night scale ----------------------------------------------------------------

def dry_submit(args) -> int:
    work = Path(args.keep or tempfile.mkdtemp(prefix="lstosa-slurm-dry-"))
    n = args.dry_submit
    runs = [250] * (n // 250) + ([n % 250] if n % 250 else [])
    cfg = night(work, runs, 0)
    base = [str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work)]
    dry = subprocess.run([*base, "-n", "--cores", "1", "--config", *cfg], capture_output=True, text=True, check=True)
    cal = [o for j in parse_dry_run(dry.stdout + dry.stderr)
           if j.rule in ("drs4_pedestal", "time_calibration", "charge_calibration") for o in j.outputs]
    subprocess.run([*base, "--cores", "2", "--config", *cfg, "--", *cal], check=True, capture_output=True)
    fake = work / "fakebin"
    fake.mkdir()
    calls = fake / "calls.log"
    # fake sbatch: records the call, answers a new job ID; fake squeue: every recorded job RUNNING
    (fake / "sbatch").write_text(f'#!/bin/sh\nexec flock {calls} sh -c \'n=$(wc -l < "$0"); '
                                 f'echo "$(date +%s.%N) $n $*" | sed "s/ --wrap.*//" >> "$0"; echo $n\' {calls} "$@"\n')
    (fake / "squeue").write_text(f'#!/bin/sh\nawk \'{{print $2"|RUNNING"}}\' {calls}\n')
    for f in ("sbatch", "squeue"):
        (fake / f).chmod(0o755)
    calls.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["PATH"] = f"{fake}:{ROOT / '.venv' / 'bin'}:{env['PATH']}"
    t0 = time.time()
    proc = subprocess.Popen([*base, "--profile", str(ROOT / "profiles" / "slurm"), "--config", *cfg],
                            stdout=open(work / "snakemake.log", "w"), stderr=subprocess.STDOUT, env=env)
    deadline = t0 + args.timeout
    n_r0 = 0
    while time.time() < deadline and proc.poll() is None:
        n_r0 = sum(1 for c in calls.read_text().splitlines() if "--job-name subrun_chain." in c)
        if n_r0 >= n:
            break
        time.sleep(0.5)
    lines = calls.read_text().splitlines()
    proc.kill()
    proc.wait()
    r0 = [float(c.split()[0]) for c in lines if "--job-name subrun_chain." in c]
    first = r0[0] - t0 if r0 else float("nan")
    last = r0[-1] - t0 if r0 else float("nan")
    print(f"sub-runs {n}  r0_to_dl1 submitted {len(r0)}  sbatch calls {len(lines)}  "
          f"first r0 at {first:.1f} s  last r0 at {last:.1f} s (from Snakemake's start)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if len(r0) == n else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, nargs="+", default=[22, 21, 21], help="sub-runs of each DATA run")
    ap.add_argument("--sleep", type=float, default=40, help="seconds each fake r0_to_dl1 sleeps")
    ap.add_argument("--partition", default="wide")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--dl1b", action="store_true",
                    help="the workflow variant with the DL1b stages on (the reference stays without; see above)")
    ap.add_argument("--dl1ab-sleep", type=float, default=0, help="with --dl1b: seconds each fake dl1ab sleeps")
    ap.add_argument("--dry-submit", type=int, metavar="N", help="time the submission of N sub-runs (fake sbatch)")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = ap.parse_args()
    return dry_submit(args) if args.dry_submit else side_by_side(args)


if __name__ == "__main__":
    sys.exit(main())
