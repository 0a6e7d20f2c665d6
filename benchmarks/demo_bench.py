#!/usr/bin/env python
"""The demo night on the real tools: the workflow against a plain script of the same commands.

    .venv/bin/python benchmarks/demo_bench.py [--repeat 1] [--cores 2] [--keep DIR]

One synthetic demo night (scripts/demo.sh's: DEMO_NIGHT) is processed three times, each into its own
output root, with the same number of parallel jobs (--cores):

  workflow        `snakemake --cores N` with the project's default profile, as scripts/demo.sh runs it
  direct+runner   the jobs' exact shell commands (our runner around every lstchain tool), run by a
                  plain dependency-ordered process pool: what Snakemake itself adds
  direct          the lstchain commands alone (staging directory, output renames, no runner, no
                  raw-file checks): what Snakemake and the runner add together

The command list is taken from the workflow's own dry run (`-n -p`), so all three run the same
commands with the same arguments. Printed: wall time, CPU time of all processes, CPU utilisation
of the cores (CPU / (wall x cores)) and the ratio to `direct`. The final products of each variant
are listed and must be the same set of files.

    .venv/bin/python benchmarks/demo_bench.py --stages [--repeat 1] [--cores 2]

instead times the workflow on the same night twice: `before`, without the stages of issue 14 (DL1b,
Cat-B, Cherenkov transparency, PROV documents: STAGES_OFF), and `after`, with the defaults (all on), and
prints the ratio against the issue's limit of 1.5x.

    .venv/bin/python benchmarks/demo_bench.py --states [--repeat 1] [--cores 2]

writes the demo night in two input states (gain_selected, legacy_raw: both gains, so every DATA sub-run is
gain-selected by lstchain_r0_to_r0g first) and times the workflow on each, with the gain selection's mean
wall/CPU time and peak memory per sub-run and the R0G volume against R0's.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
LST_BIN = ROOT / ".venv-lst" / "bin"
sys.path.insert(0, str(ROOT / "src"))
from lstosa_snake.jobs.runner import tool_environment  # noqa: E402  (the tools' offline astropy settings)

DATE = "2020-01-27"
RUNNER_MARK = "-m lstosa_snake.jobs.runner "
#: the demo night of scripts/demo.sh (keep equal): interleaved events, NSB and a gain drift for DL1b
DEMO_NIGHT = ["--events-per-subrun", "400", "--interleaved-fraction", "0.25", "--data-nsb-pe", "0.3", "2.5",
              "--data-gain-drift", "0", "0.1"]


@dataclass
class Job:
    rule: str
    inputs: list[str]
    outputs: list[str]
    log: list[str]
    cmd: str
    deps: set[int] = field(default_factory=set)


def parse_dry_run(text: str) -> list[Job]:
    """Jobs of `snakemake -n -p` output: rule, input, output, log and shell command."""
    jobs, cur = [], None
    for line in text.splitlines():
        m = re.match(r"^\s*(?:local)?rule (\w+):$", line)
        if m:
            cur = Job(m.group(1), [], [], [], "")
            jobs.append(cur)
            continue
        if cur is None:
            continue
        s = line.strip()
        for key, dest in (("input", cur.inputs), ("output", cur.outputs), ("log", cur.log)):
            if s.startswith(key + ": "):
                dest.extend(p.strip() for p in s[len(key) + 2:].split(", "))
        if line.startswith("Shell command: "):
            cur.cmd = line[len("Shell command: "):]
    jobs = [j for j in jobs if j.rule != "all"]
    producer = {o: i for i, j in enumerate(jobs) for o in j.outputs}
    for j in jobs:
        j.deps = {producer[f] for f in j.inputs if f in producer}
    return jobs


def bare_command(cmd: str, scratch: Path):
    """The lstchain command inside a runner call, as a callable that runs it and moves its outputs."""
    words = shlex.split(cmd)
    i = words.index("--")
    opts, tool = words[:i], words[i + 1:]
    outs = [o.split("=", 1) for k, o in zip(opts, opts[1:]) if k == "--out"]
    staged = [s for k, s in zip(opts, opts[1:]) if k == "--stage-input"]
    log = opts[opts.index("--log") + 1]

    def run():
        staging = Path(tempfile.mkdtemp(dir=scratch))
        inputs = staging / "_inputs"
        if staged:
            inputs.mkdir()
            for s in staged:
                (inputs / Path(s).name).symlink_to(Path(s).resolve())
        args = [a.replace("{staging}", str(staging)).replace("{inputs}", str(inputs)) for a in tool]
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as fh:
            rc = subprocess.run(args, stdout=fh, stderr=subprocess.STDOUT, cwd=staging,
                                env=tool_environment(None)).returncode
        if rc != 0:
            raise RuntimeError(f"{tool[0]} failed (exit {rc}), see {log}")
        for name, final in outs:
            Path(final).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, final)
        shutil.rmtree(staging)

    return run


def shell_command(cmd: str, outputs: list[str], logs: list[str]):
    def run():
        for p in outputs + logs:
            Path(p).parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["bash", "-c", "set -euo pipefail; " + cmd], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"command failed (exit {r.returncode}): {cmd[:200]}\n{r.stderr[-2000:]}")

    return run


def run_pool(jobs: list[Job], cores: int, bare: bool, scratch: Path) -> None:
    """Run the jobs in dependency order, at most `cores` at a time (like `snakemake --cores`)."""
    todo = {i for i in range(len(jobs))}
    done: set[int] = set()
    running = {}
    with ThreadPoolExecutor(cores) as pool:
        while todo or running:
            ready = sorted(i for i in todo if jobs[i].deps <= done)
            for i in ready[: cores - len(running)]:
                j = jobs[i]
                # the DL1b steps (lstosa_snake.jobs.dl1b) decide around their tool: always as the workflow runs them
                fn = (bare_command(j.cmd, scratch) if bare and RUNNER_MARK in j.cmd and "lstosa_snake.jobs.dl1b" not in j.cmd
                      else shell_command(j.cmd, j.outputs, j.log))
                running[pool.submit(fn)] = i
                todo.discard(i)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in finished:
                f.result()
                done.add(running.pop(f))


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    s = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime + s.ru_utime + s.ru_stime


def products(out_root: Path) -> set[str]:
    """The products by the workflow's own paths. The workflow (and its runner) keeps run products in LSTOSA's
    cleaning/NSB directories behind links at those paths (docs/layout.md); the bare commands write them at
    the paths themselves: the directories' own entries are left out so that the variants compare."""
    return {str(p.relative_to(out_root)) for d in ("DL1", "DL2", "monitoring/PixelCalibration")
            for p in (out_root / d).rglob("*")
            if p.is_file() and not p.name.endswith("_prov.json")  # LSTOSA's name for DL1/.../provenance/'s document
            and not any(part.startswith(("tailcut", "nsb_tuning_")) for part in p.relative_to(out_root).parts)}


def config_args(data: Path, out: Path, models: Path, extra=()) -> list[str]:
    return ["--config", f"date={DATE}", f"data_root={data}", f"output_root={out}", f"models_dir={models}", *extra]


def run_variant(variant: str, work: Path, data: Path, out: Path, models: Path, cores: int, extra=()) -> tuple:
    """Process the night into `out` one way; (wall s, CPU s of every process, jobs, products)."""
    snakemake = [str(BIN / "snakemake"), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work)]
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(work / ".snakemake", ignore_errors=True)
    cfg = config_args(data, out, models, extra)
    dry = subprocess.run([*snakemake, "-n", "-p", "--cores", str(cores), *cfg], capture_output=True, text=True,
                         check=True)
    jobs = parse_dry_run(dry.stdout + dry.stderr)
    scratch = Path(tempfile.mkdtemp(dir=work, prefix=f"scratch-{variant}-"))
    cpu0, t0 = children_cpu(), time.perf_counter()
    if variant == "workflow":
        r = subprocess.run([*snakemake, "--cores", str(cores), *cfg], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"the workflow failed:\n{r.stderr[-3000:]}")
    else:
        run_pool(jobs, cores, bare=(variant == "direct"), scratch=scratch)
    wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
    shutil.rmtree(scratch, ignore_errors=True)
    return wall, cpu, len(jobs), products(out)


VARIANTS = ("workflow", "direct+runner", "direct")
#: the night as it was before issue 14's stages (--stages: `before`)
STAGES_OFF = ("dl1ab=False", "apply_catB_calibration=False", "cherenkov_transparency=False", "provenance=False")
STAGES_LIMIT = 1.5


def compare_stages(work: Path, data: Path, models: Path, cores: int, repeat: int) -> int:
    """The workflow without and with issue 14's stages on the same night; 0 when within STAGES_LIMIT."""
    walls: dict[str, list[float]] = {"before": [], "after": []}
    for rep in range(repeat):
        for name, extra in (("before", STAGES_OFF), ("after", ())):
            wall, cpu, njobs, made = run_variant("workflow", work, data, work / f"out-{name}", models, cores, extra)
            walls[name].append(wall)
            print(f"# {name} run {rep + 1}: {wall:.1f} s wall, {cpu:.1f} s CPU, {njobs} jobs, {len(made)} products",
                  file=sys.stderr, flush=True)
    before, after = min(walls["before"]), min(walls["after"])
    ratio = after / before
    print(f"{'stages':<8} {'wall s':>7}   ({cores} cores, best of {repeat})")
    print(f"{'before':<8} {before:>7.1f}   ({' '.join(STAGES_OFF)})")
    print(f"{'after':<8} {after:>7.1f}   (defaults)")
    verdict = "within" if ratio <= STAGES_LIMIT else "ABOVE"
    print(f"ratio {ratio:.2f}x: {verdict} the limit of {STAGES_LIMIT}x")
    return 0 if ratio <= STAGES_LIMIT else 1


def compare_states(work: Path, models: Path, cores: int, repeat: int) -> int:
    """The demo night written in each input state, processed by the workflow; the gain selection's cost."""
    rows = {}
    for state in ("gain_selected", "legacy_raw"):
        data = work / f"data-{state}"
        if not (data / "R0").is_dir():
            subprocess.run([LST_BIN / "lstosa-make-night", "--date", DATE, "--output", data, "--no-progress",
                            "--input-state", state, *DEMO_NIGHT], check=True, capture_output=True)
        best = None
        for rep in range(repeat):
            out = work / f"out-{state}"
            wall, cpu, njobs, made = run_variant("workflow", work, data, out, models, cores)
            print(f"# {state} run {rep + 1}: {wall:.1f} s wall, {cpu:.1f} s CPU, {njobs} jobs, {len(made)} products",
                  file=sys.stderr, flush=True)
            if best is None or wall < best[0]:
                best = (wall, cpu, njobs, gain_selection_cost(out, data))
        rows[state] = best
    base = rows["gain_selected"][0]
    print(f"{'input state':<14} {'wall s':>7} {'CPU s':>7} {'jobs':>5} {'vs gain_selected':>16}   ({cores} cores, best of {repeat})")
    for state, (wall, cpu, njobs, _) in rows.items():
        print(f"{state:<14} {wall:>7.1f} {cpu:>7.1f} {njobs:>5} {wall / base:>16.3f}")
    cost = rows["legacy_raw"][3]
    if cost["subruns"]:
        print(f"gain selection per sub-run ({cost['subruns']} sub-runs of the demo night): {cost['wall_s']:.1f} s wall, "
              f"{cost['cpu_s']:.1f} s CPU, peak {cost['max_rss_mb']:.0f} MB; R0G {cost['r0g_mb']:.1f} MB for "
              f"{cost['r0_mb']:.1f} MB of R0 ({100 * (1 - cost['r0g_mb'] / cost['r0_mb']):.0f} % saved)")
    return 0


def gain_selection_cost(out: Path, data: Path) -> dict:
    """Mean wall/CPU and peak memory of the gain_selection jobs (their benchmark files), R0G vs R0 volume."""
    d = DATE.replace("-", "")
    tsvs = sorted((out / "running_analysis" / d / "gain_selection" / "benchmarks").glob("*.tsv"))
    rows = []
    for t in tsvs:
        head, values = t.read_text().splitlines()[:2]
        rows.append(dict(zip(head.split("\t"), values.split("\t"))))
    n = len(rows)
    r0g = list((out / "R0G" / d).glob("*.fits.fz"))
    return {
        "subruns": n,
        "wall_s": sum(float(r["s"]) for r in rows) / n if n else 0.0,
        "cpu_s": sum(float(r["cpu_time"]) for r in rows) / n if n else 0.0,
        "max_rss_mb": max((float(r["max_rss"]) for r in rows), default=0.0),
        "r0g_mb": sum(p.stat().st_size for p in r0g) / 1e6,
        "r0_mb": sum((data / "R0" / d / p.name).stat().st_size for p in r0g) / 1e6,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=1, help="runs per variant (the fastest counts)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it")
    ap.add_argument("--stages", action="store_true",
                    help="time the workflow without and with issue 14's stages (DL1b, Cat-B, transparency, PROV)")
    ap.add_argument("--states", action="store_true",
                    help="the demo night in each input state (gain_selected, legacy_raw): wall time and the gain"
                         " selection's cost per sub-run")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="lstosa-demo-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data, models = work / "data", ROOT / ".cache" / "models"
    if not (data / "R0").is_dir():
        subprocess.run([LST_BIN / "lstosa-make-night", "--date", DATE, "--output", data, "--no-progress", *DEMO_NIGHT],
                       check=True, capture_output=True)
    subprocess.run([LST_BIN / "lstosa-make-models", "--output-dir", models, "--config",
                    ROOT / "config" / "lstchain" / "lstchain_config.json"], check=True, capture_output=True)
    if args.states:
        rc = compare_states(work, models, args.cores, args.repeat)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        return rc
    if args.stages:
        rc = compare_stages(work, data, models, args.cores, args.repeat)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        return rc
    results: dict[str, list[tuple[float, float]]] = {}
    sets = {}
    for rep in range(args.repeat):
        for variant in VARIANTS:
            wall, cpu, njobs, made = run_variant(variant, work, data, work / f"out-{variant}", models, args.cores)
            results.setdefault(variant, []).append((wall, cpu))
            sets[variant] = made
            print(f"# {variant} run {rep + 1}: {wall:.1f} s wall, {cpu:.1f} s CPU, {len(made)} products",
                  file=sys.stderr, flush=True)
    if len({frozenset(s) for s in sets.values()}) != 1:
        for v, s in sets.items():
            print(f"{v}: {len(s)} products; missing vs workflow: {sorted(sets['workflow'] - s)[:5]}", file=sys.stderr)
        print("the variants did not make the same products", file=sys.stderr)
        return 1
    base = min(w for w, _ in results["direct"])
    print(f"{'variant':<14} {'wall s':>7} {'CPU s':>7} {'CPU use':>8} {'vs direct':>9}   "
          f"({njobs} jobs, {args.cores} cores, {len(sets['workflow'])} products, best of {args.repeat})")
    for v, rows in results.items():
        wall, cpu = min(rows)
        print(f"{v:<14} {wall:>7.1f} {cpu:>7.1f} {100 * cpu / (wall * args.cores):>7.0f}% {wall / base:>9.3f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
