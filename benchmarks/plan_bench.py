"""What reading the night summary and planning the night cost at every Snakemake start.

The Snakefile reads the summary and plans the night at parse time, in the main Snakemake and in every
SLURM job. This measures it on the seed-shaped night (1,521 sub-runs by default) for each summary
format, in a fresh Python each time (imports included, as the Snakefile pays them):

    .venv/bin/python benchmarks/plan_bench.py [--subruns 1521] [--repeat 5]

Prints one line per format: median seconds of import + read + plan, and of read + plan alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

NIGHT = dt.date(2020, 1, 27)

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
from lstosa_snake.night.plan import plan_night
t1 = time.perf_counter()
plan = plan_night(json.loads(sys.argv[1]), __import__("pathlib").Path(sys.argv[2]))
t2 = time.perf_counter()
print(json.dumps({"total": t2 - t0, "plan": t2 - t1, "subruns": sum(len(r.subruns) for r in plan.runs.values()),
                  "fmt": plan.summary.fmt}))
"""


def make_formats(root: Path, subruns: int) -> dict[str, Path]:
    from lstosa_snake.night.scale import write_seed_shaped_tree
    from lstosa_snake.night.summary_writer import write_run_summary_ecsv

    summary = write_seed_shaped_tree(root, NIGHT, subruns)
    text = root / "monitoring" / "NightSummary" / "NightSummary_20200127.txt"
    comma = root / "comma.ecsv"
    comma.write_text(write_run_summary_ecsv(summary))
    space = root / "space.ecsv"
    lines = []
    for line in comma.read_text().splitlines():
        if line.startswith("# delimiter"):
            line = "# delimiter: ' '"
        elif not line.startswith("#"):
            line = line.replace(",", " ")
        lines.append(line)
    space.write_text("\n".join(lines) + "\n")
    return {"text": text, "ecsv-comma": comma, "ecsv-space": space}


def measure(root: Path, summary: Path, repeat: int) -> dict:
    config = {"date": NIGHT.isoformat(), "data_root": str(root), "prod_id": "v0.12", "calibration_version": "v1",
              "night_summary": str(summary)}
    runs = []
    for _ in range(repeat):
        res = subprocess.run([sys.executable, "-c", PROBE, json.dumps(config), str(root)], capture_output=True,
                             text=True, check=True)
        runs.append(json.loads(res.stdout))
    return {
        "total_s": statistics.median(r["total"] for r in runs),
        "plan_s": statistics.median(r["plan"] for r in runs),
        "subruns": runs[0]["subruns"],
        "fmt": runs[0]["fmt"],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subruns", type=int, default=1521)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, path in make_formats(root, args.subruns).items():
            r = measure(root, path, args.repeat)
            print(f"{name:11s} fmt={r['fmt']:5s} subruns={r['subruns']} import+read+plan={r['total_s']:.3f} s "
                  f"read+plan={r['plan_s']:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
