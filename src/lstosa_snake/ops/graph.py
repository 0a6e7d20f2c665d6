"""``scripts/lstosa-graph``: the workflow's rule graph and one run's job DAG as SVG.

Writes ``OUT/rulegraph.svg`` (the rules and their dependencies: small at any night size) and
``OUT/dag_<YYYYMMDD>_Run<RUN>.svg``: the jobs behind that run's merged DL1, DL2, muons and
datacheck PDF only (a whole night's DAG has thousands of nodes and is not renderable). Every job
node is labelled with its run and sub-run (``r0_to_dl1\\n01874.0003``). Nothing but the SVGs is
left in OUT: Snakemake's messages are kept in memory and shown only when it fails.

Exit codes: 0 written (or --help); 1 Snakemake or dot failed; 2 bad arguments or configuration.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from lstosa_snake.core.errors import LstosaError
from lstosa_snake.night.dates import default_night, parse_night_date
from lstosa_snake.night.opsconfig import load_config, parse_overrides, project_dir
from lstosa_snake.night.plan import plan_night

#: Snakemake labels a DAG node only with the wildcards its dependencies do not share, so most
#: nodes (merges, charge_calibration) showed no run at all. Run Snakemake with every wildcard in
#: the label; if a Snakemake version lacks the hook, the labels are simply Snakemake's own.
_SNAKEMAKE_ALL_WILDCARDS = """
import sys
from snakemake.cli import main  # first: importing snakemake.dag alone is a circular import
import snakemake.dag
if hasattr(snakemake.dag.DAG, "new_wildcards"):
    snakemake.dag.DAG.new_wildcards = lambda self, job: set(job.wildcards.items())
sys.exit(main(sys.argv[1:]))
"""

_RUN_SUBRUN = re.compile(r'\\nrun: (\d+)\\nsubrun: (\d+)"')
_RUN = re.compile(r'\\nrun: (\d+)"')


def relabel(dot: str) -> str:
    """``r0_to_dl1\\nrun: 01874\\nsubrun: 0003`` -> ``r0_to_dl1\\n01874.0003`` (and ``run: X`` -> ``X``)."""
    return _RUN.sub(r'\\n\1"', _RUN_SUBRUN.sub(r'\\n\1.\2"', dot))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lstosa-graph",
        description="Render the workflow's rule graph and one run's job DAG to SVG (needs graphviz 'dot').",
        epilog="Writes OUT_DIR/rulegraph.svg and OUT_DIR/dag_<YYYYMMDD>_Run<RUN>.svg; nothing else is left there.",
    )
    p.add_argument("--date", help="night (YYYY-MM-DD or YYYYMMDD); default: last night")
    p.add_argument("--run", type=int, help="DATA run whose job DAG to draw; default: the night's first")
    p.add_argument("--out-dir", help="default: running_analysis/<date>/<prod_id>/graphs")
    p.add_argument("--data-root")
    p.add_argument("--output-root")
    p.add_argument("--prod-id")
    p.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                   help="any key of config/config.yaml (repeatable)")
    return p


def _snakemake(python: str, args: list[str], base: Path) -> str:
    """Snakemake's dot output; its messages go to stderr only when it fails."""
    proc = subprocess.run([python, "-c", _SNAKEMAKE_ALL_WILDCARDS, *args], cwd=base, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"Snakemake failed ({' '.join(a for a in args if a.startswith('--'))}):\n{tail}")
    return proc.stdout


def _render(dot_text: str, svg: Path) -> None:
    proc = subprocess.run(["dot", "-Tsvg", "-o", str(svg)], input=dot_text, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"dot failed for {svg.name}: {proc.stderr.strip()}")


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    base = project_dir()
    if shutil.which("dot") is None:
        print("lstosa-graph: ERROR: graphviz 'dot' not found (scripts/setup.sh installs it)", file=sys.stderr)
        return 2
    try:
        items = parse_overrides(a.config)
        items["date"] = str(parse_night_date(a.date) if a.date else default_night())
        for key, value in (("data_root", a.data_root), ("output_root", a.output_root)):
            if value:
                items[key] = str(Path(value).resolve())
        if a.prod_id:
            items["prod_id"] = a.prod_id
        plan = plan_night(load_config(base, None, items), base)
    except LstosaError as exc:
        print(f"lstosa-graph: ERROR: {exc} (a night without a summary yet: run lstosa-nightly first)", file=sys.stderr)
        return 2
    if not plan.runs:
        print("lstosa-graph: ERROR: the night has no DATA run to draw", file=sys.stderr)
        return 2
    run = a.run if a.run is not None else min(plan.runs)
    if run not in plan.runs:
        print(f"lstosa-graph: ERROR: run {run} is not a processed DATA run of the night ({sorted(plan.runs)})",
              file=sys.stderr)
        return 2
    paths = plan.paths
    out = Path(a.out_dir).resolve() if a.out_dir else paths.running_dir / "graphs"
    out.mkdir(parents=True, exist_ok=True)
    # targets go before the options: --config takes every word after it
    smk = ["--snakefile", str(base / "Snakefile"), "--config", *(f"{k}={v}" for k, v in items.items())]
    targets = [str(f) for f in (paths.dl1_run(run), paths.dl2_run(run), paths.muons_run(run),
                                paths.datacheck_run_pdf(run))]
    python = str(base / ".venv" / "bin" / "python")
    if not Path(python).exists():
        python = sys.executable
    rulegraph = out / "rulegraph.svg"
    dag = out / f"dag_{paths.date}_Run{run:05d}.svg"
    try:
        _render(_snakemake(python, ["--rulegraph", *smk], base), rulegraph)
        _render(relabel(_snakemake(python, [*targets, "--dag", *smk], base)), dag)
    except RuntimeError as exc:
        print(f"lstosa-graph: ERROR: {exc}", file=sys.stderr)
        return 1
    print(f"lstosa-graph: {rulegraph}")
    print(f"lstosa-graph: {dag} (run {run:05d})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
