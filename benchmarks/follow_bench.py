#!/usr/bin/env python
"""In-night processing on the real tools: how soon each run's datacheck is on the web site.

    .venv/bin/python benchmarks/follow_bench.py [--data-runs 3] [--subruns 2] [--events 60]
        [--subrun-seconds 40] [--run-gap 20] [--cycle 15] [--run-end-quiet 60] [--keep DIR]

A synthetic night (lstosa-make-night, no summary) is replayed into a fresh data root with
lstosa-replay at the chosen pace while lstosa-follow (local, 2 cores) processes it and publishes to a
throw-away nginx WebDAV server (tests/infra/nginx.py). Per DATA run it reports:

  landed     when its last sub-run finished landing (the newest mtime of its raw files)
  published  when its run datacheck PDF appeared on the web server (polled every 0.5 s)
  latency    published - landed
  budget     cycle + processing + 120 s, the target; processing = the time lstosa-follow's Snakemake
             passes ran between the run's landing and its publication (follow/state.json)

and lstosa-follow's CPU per idle cycle (target < 2 s). Exit 1 if a run was never published.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
LST_BIN = ROOT / ".venv-lst" / "bin"
DATE, YYYYMMDD = "2020-01-27", "20200127"


def load_nginx():
    spec = importlib.util.spec_from_file_location("lstosa_bench_nginx", ROOT / "tests" / "infra" / "nginx.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def models_dir(work: Path) -> Path:
    cached = Path(os.environ.get("LSTOSA_MODELS_CACHE", ROOT / ".cache" / "models"))
    if any(cached.glob("*.sav")):
        return cached
    out = work / "models"
    subprocess.run([str(LST_BIN / "lstosa-make-models"), "--output-dir", str(out), "--config",
                    str(ROOT / "config" / "lstchain" / "lstchain_config.json")], check=True, capture_output=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-runs", type=int, default=3)
    p.add_argument("--subruns", type=int, default=2)
    p.add_argument("--events", type=int, default=60)
    p.add_argument("--subrun-seconds", type=float, default=40.0)
    p.add_argument("--run-gap", type=float, default=20.0)
    p.add_argument("--cycle", type=float, default=15.0)
    p.add_argument("--run-end-quiet", type=float, default=60.0)
    p.add_argument("--timeout", type=float, default=3600.0)
    p.add_argument("--keep", type=Path, help="work directory to keep (default: a temporary one, removed)")
    args = p.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="lstosa-follow-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    src, data = work / "source", work / "data"
    nginx = load_nginx()
    server = nginx.start_nginx(work / "nginx")
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", LSTOSA_WEB_USER=server.user,
               LSTOSA_WEB_PASSWORD=server.password)
    replayer = follower = None
    try:
        subprocess.run([str(LST_BIN / "lstosa-make-night"), "--output", str(src), "--date", DATE,
                        "--data-runs", str(args.data_runs), "--subruns", str(args.subruns),
                        "--events-per-subrun", str(args.events), "--drs4-events", "500", "--cali-events", "500",
                        "--no-night-summary", "--no-progress"], check=True, capture_output=True)
        plan = json.loads((src / "synthetic_truth" / YYYYMMDD / "night.json").read_text())
        data_runs = [r["run"] for r in plan["runs"] if r["run_type"] == "DATA"]
        models = models_dir(work)
        t0 = time.time()
        replayer = subprocess.Popen(
            [str(BIN / "lstosa-replay"), "--source", str(src), "--data-root", str(data), "--date", DATE,
             "--subrun-seconds", str(args.subrun_seconds), "--run-gap", str(args.run_gap)],
            stdout=open(work / "replay.log", "w"), stderr=subprocess.STDOUT, env=env)
        follower = subprocess.Popen(
            [str(BIN / "lstosa-follow"), "--date", DATE, "--data-root", str(data), "--cores", "2",
             "--config", f"models_dir={models}", "--config", f"datacheck_url={server.url}",
             "--cycle", str(args.cycle), "--run-end-quiet", str(args.run_end_quiet), "--night-end", "2099-01-01T00:00",
             "--no-handover"],
            cwd=ROOT, stdout=open(work / "follow.log", "w"), stderr=subprocess.STDOUT, env=env)
        published: dict[int, float] = {}
        site = server.root / "v0.12" / YYYYMMDD / "pdf"  # datacheck_url/<prod_id>/<date>/
        while len(published) < len(data_runs) and time.time() - t0 < args.timeout:
            for run in data_runs:
                if run not in published and (site / f"datacheck_dl1_LST-1.Run{run:05d}.pdf").is_file():
                    published[run] = time.time()
            if follower.poll() is not None:
                break
            time.sleep(0.5)
        # a last stretch of idle cycles, for their CPU cost
        time.sleep(3 * args.cycle)
    finally:
        for proc in (follower, replayer):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=60)
        server.stop()
    state = json.loads((data / "running_analysis" / YYYYMMDD / "v0.12" / "follow" / "state.json").read_text())
    cycles = [tuple(t) for t in state.get("snakemake_times", [])]  # (start, end) of each Snakemake pass
    print(f"night: {args.data_runs} DATA runs x {args.subruns} sub-runs x {args.events} events; sub-run every "
          f"{args.subrun_seconds:g} s, runs {args.run_gap:g} s apart; cycle {args.cycle:g} s, "
          f"run-end quiet {args.run_end_quiet:g} s")
    ok = True
    for run in data_runs:
        r0 = data / "R0" / YYYYMMDD
        landed = max(f.stat().st_mtime for f in r0.glob(f"LST-1.*.Run{run:05d}.*.fits.fz"))
        if run not in published:
            print(f"run {run:05d}: NOT published")
            ok = False
            continue
        processing = sum(min(end, published[run]) - max(start, landed) for start, end in cycles
                         if start <= published[run] and end >= landed)
        latency = published[run] - landed
        budget = args.cycle + processing + 120
        print(f"run {run:05d}: landed {landed - t0:7.1f} s, published {published[run] - t0:7.1f} s, latency "
              f"{latency:6.1f} s, budget {budget:6.1f} s ({'met' if latency <= budget else 'MISSED'})")
    idle = state.get("idle_cpu_s", {})
    print(f"lstosa-follow: {state.get('cycles')} cycles, {state.get('busy_cycles')} busy; idle cycles: "
          f"{idle.get('n')} with CPU mean {idle.get('mean')} s, max {idle.get('max')} s (target < 2 s)")
    print(json.dumps({"published": {str(r): published.get(r) for r in data_runs}, "idle_cpu_s": idle,
                      "run_states": state.get("run_states")}))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
