#!/usr/bin/env python3
"""Measure sbatch calls and wall time of the toy workflow (tests/data/toy_slurm) per submission mode.

    .venv/bin/python tests/infra/slurm_economy.py --subruns 10 --modes local,single,group,array
    .venv/bin/python tests/infra/slurm_economy.py --subruns 200 --modes group --group-size 50

Modes: local (local executor, --cores 2, profiles/default), single (one sbatch per job),
group (--groups a=subrun b=subrun --group-components subrun=G --cores 4), group1 (same with --cores 1),
array (--slurm-array-jobs a,b).
The toy has 2*N+1 jobs (+ the local 'all'). Needs the cluster (tests/infra/slurm.sh start).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from slurm_fixtures import DEFAULT_PROFILE, REPO, SLURM_PROFILE, SbatchSpy, clean_env, run_snakemake  # noqa: E402

SNAKEFILE = REPO / "tests" / "data" / "toy_slurm" / "Snakefile"
FAST = ["--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2"]


def run(mode: str, n: int, group_size: int, timeout: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"economy-{mode}-"))
    spy = SbatchSpy(work / "spy")
    args = ["-s", str(SNAKEFILE), "--config", f"subruns={n}", "nap=0"]
    if mode == "local":
        args += ["--profile", str(DEFAULT_PROFILE), "--cores", "2"]
        env = clean_env()
    else:
        args += ["--profile", str(SLURM_PROFILE), *FAST]
        env = spy.env()
        if mode in ("group", "group1"):
            # group: width (CPUs per group job) capped at the node's 4 CPUs; group1: 1 CPU, jobs in
            # sequence (which is how the jobstep runs them anyway: --jobs 1)
            args += ["--groups", "a=subrun", "b=subrun", "--group-components", f"subrun={group_size}",
                     "--cores", "4" if mode == "group" else "1"]
        elif mode == "array":
            args += ["--slurm-array-jobs", "a,b"]
        elif mode != "single":
            raise SystemExit(f"unknown mode {mode}")
    r = run_snakemake(args, cwd=work, timeout=timeout, env=env)
    ok = r.returncode == 0 and (work / "merged.txt").exists()
    cpus = sorted({m.group(1) for c in spy.calls() for m in [re.search(r"--cpus-per-task=(\d+)", c)] if m})
    return {"mode": mode, "subruns": n, "jobs": 2 * n + 1, "sbatch": len(spy.calls()), "cpus": ",".join(cpus),
            "seconds": round(r.seconds, 1), "ok": ok, "dir": str(work)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subruns", type=int, default=10)
    p.add_argument("--modes", default="local,single,group,array")
    p.add_argument("--group-size", type=int, default=50)
    p.add_argument("--timeout", type=float, default=3600)
    a = p.parse_args()
    print("mode     subruns  jobs  sbatch  cpus/sbatch  seconds  s/job  ok  workdir")
    for mode in a.modes.split(","):
        r = run(mode, a.subruns, a.group_size, a.timeout)
        print(f"{r['mode']:8} {r['subruns']:7} {r['jobs']:5} {r['sbatch']:7} {r['cpus']:>12} {r['seconds']:8} "
              f"{r['seconds'] / r['jobs']:6.2f}  {'y' if r['ok'] else 'N'}   {r['dir']}", flush=True)


if __name__ == "__main__":
    main()
