"""Memory requests of the workflow's rules, from measured peaks.

Each rule asks SLURM (and the local scheduler) for ``peak x MARGIN + JOB_OVERHEAD_MB``, rounded up
to 250 MB, times the attempt number, so that a job killed for memory is retried with more. The
overhead is the Snakemake process that runs the job inside its SLURM allocation (MaxRSS of a job
with a trivial command: ~140 MB), which SLURM counts with the tool. The peaks are the
largest ``max_rss`` (MB) of the rule's Snakemake benchmark files (the whole process tree: our runner
plus the lstchain tool) over the demo night, ``bash scripts/demo.sh`` on 2026-12-01
(`running_analysis/<date>/<prod>/benchmarks/`). Re-measure on a site's real nights with

    python -m lstosa_snake.jobs.resources running_analysis/20240310/v0.12/benchmarks [more dirs...]

which prints every rule's measured peak next to its request and exits 1 where a request is below
peak x MARGIN. The test-suite runs the same check on the benchmark files of its own real-tool night,
and the test cluster kills any job above its request (tests/infra/slurm.sh: OverMemoryKill).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

#: requested memory / measured peak
MARGIN = 1.5
#: MB for the Snakemake process inside each SLURM job (sacct MaxRSS of trivial jobs: 129-145 MB)
JOB_OVERHEAD_MB = 200
#: MB, largest max_rss of the demo night's benchmark files (see the module docstring), raised where the
#: test-suite's own real-tool night measured more (tests/test_e2e.py checks every CI run's peaks)
PEAK_MB = {
    "drs4_pedestal": 2628,  # measured inside a SLURM job of the tests; locally 2108
    "time_calibration": 872,
    "charge_calibration": 759,
    "r0_to_dl1": 2047,  # the test-suite's real-tool night; demo night: 1957
    "dl1_datacheck": 1480,
    "dl1_to_dl2": 430,
    "merge_dl1": 400,
    "merge_dl2": 401,
    "merge_muons": 394,
    "run_datacheck": 774,  # the test-suite's real-tool night (2 sub-runs of 120 events); demo night: 583
    "night_datacheck": 688,
    "run_plots": 115,
    "calibration_plots": 705,  # the tests' SLURM night; demo night: 654
    # the tests' real-tool night, 2026-12-03: its plan reads the raw files' input state (protozfits imports
    # numpy and astropy.io.fits; 8 MB before)
    "night_page": 92,
    # DL1b (dl1ab.smk): the demo night (400 events per sub-run) and the tests' DL1b night, 2026-12-01
    "find_tailcuts": 480,
    "catB_calibration": 545,
    "dl1ab": 548,
    # transparency and provenance (2026-12-01): benchmark of the tests' real-tool night (377 MB) and
    # /usr/bin/time on the demo night's files (404 MB)
    "cherenkov_transparency": 404,
    "transparency_plot": 84,
    "run_provenance": 56,
    # lstchain_r0_to_r0g (legacy_raw nights): the demo night's 400-event sub-runs, benchmark files, 2026-12-03
    # (benchmarks/demo_bench.py --states); a 200-event sub-run under /usr/bin/time: 521
    # lstchain's calibration plots (jobs.calibration_pdfs) on the demo-sized night's files, /usr/bin/time, 2026-12-03
    "drs4_pedestal_pdf": 840,
    "charge_calibration_pdf": 637,
    "gain_selection": 538,  # a 200-sub-run run's 602 job records (1.1 s); the tests' night: 43
}
#: rules without a benchmark of their own (light Python steps or not run on the demo night): MB
UNMEASURED_MB = {
    "run_summary": 1000,  # lstchain_create_run_summary: reads 500 events of each run's first sub-run
    "run_summary_ecsv": 200,
    "close_night": 500,
    "publish_datacheck": 500,
}


def request_mb(rule: str, attempt: int = 1) -> int:
    if rule in PEAK_MB:
        base = 250 * math.ceil((PEAK_MB[rule] * MARGIN + JOB_OVERHEAD_MB) / 250)
    else:
        base = UNMEASURED_MB[rule]
    return base * attempt


def mem_mb(rule: str):
    """The rule's ``mem_mb`` resource: a function of the attempt (Snakemake's signature)."""
    def mem(wildcards, attempt):
        return request_mb(rule, attempt)
    return mem


def measured_peaks(dirs) -> dict[str, float]:
    """{rule: largest max_rss in MB} over the benchmark files, found below DIRS (``<rule>[.Run...].tsv``)."""
    peaks: dict[str, float] = {}
    for d in dirs:
        for f in Path(d).rglob("*.tsv"):
            rule = f.name.split(".")[0]
            lines = f.read_text().splitlines()
            if len(lines) < 2:
                continue
            head = lines[0].split("\t")
            try:
                rss = max(float(line.split("\t")[head.index("max_rss")]) for line in lines[1:])
            except (ValueError, IndexError):
                continue  # "NA" when the job was too short to sample
            peaks[rule] = max(peaks.get(rule, 0.0), rss)
    return peaks


def under_requested(peaks: dict[str, float], margin: float = MARGIN) -> dict[str, tuple[float, int]]:
    """Rules whose attempt-1 request is below their measured peak x margin (+ the job's Snakemake):
    {rule: (peak, request)}. With the default MARGIN: where PEAK_MB should be raised. The tests use a
    smaller margin: the same rule's peak varies by some 5-25 % from run to run."""
    out = {}
    for rule, peak in peaks.items():
        if rule in PEAK_MB or rule in UNMEASURED_MB:
            req = request_mb(rule)
            if req < peak * margin + (JOB_OVERHEAD_MB if rule in PEAK_MB else 0):
                out[rule] = (peak, req)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Compare the rules' memory requests with measured peaks.")
    ap.add_argument("benchmark_dirs", nargs="+", type=Path)
    args = ap.parse_args(argv)
    peaks = measured_peaks(args.benchmark_dirs)
    if not peaks:
        print("no benchmark files with max_rss found", file=sys.stderr)
        return 2
    low = under_requested(peaks)
    print(f"{'rule':<20} {'peak MB':>8} {'request MB':>10}  (margin {MARGIN})")
    for rule in sorted(peaks):
        req = request_mb(rule) if rule in PEAK_MB or rule in UNMEASURED_MB else None
        flag = "  TOO LOW" if rule in low else ""
        print(f"{rule:<20} {peaks[rule]:>8.0f} {req if req is not None else '-':>10}{flag}")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
