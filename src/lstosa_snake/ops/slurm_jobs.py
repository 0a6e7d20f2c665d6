"""SLURM jobs left behind by a killed Snakemake: find them in its output and cancel them.

A Snakemake killed hard (SIGKILL, a crashed login node) leaves its SLURM jobs queued or running.
Its next run knows nothing of them: it marks their outputs incomplete and submits them again, so two
jobs would write the same product. ``lstosa-nightly`` holds the night's lock, so any job that an
earlier run of this night submitted and that is still in the queue is such an orphan: it is
cancelled before Snakemake starts again (and its sub-run is redone by the new run).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

#: what the SLURM executor prints for each submission: SLURM job ID, log path naming the rule
#: (rule_<rule>/) or the group (group_<groupid>_<rules>/)
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: \S*/(?:rule|group)_(\w+)/")


def submitted_jobs(texts) -> dict[str, str]:
    """{SLURM job ID: rule, or group id and rules} of every submission in the given Snakemake outputs."""
    jobs = {}
    for text in texts:
        for m in SUBMITTED.finditer(text):
            jobs[m.group(1)] = m.group(2)
    return jobs


def queued(ids, run=subprocess.run) -> dict[str, tuple[str, str]]:
    """{job ID: (name, state)} of those IDs still pending or running (squeue; {} when it fails)."""
    if not ids:
        return {}
    try:
        out = run(["squeue", "--me", "-h", "-t", "PD,R,CG,S", "-o", "%i|%j|%T"], capture_output=True, text=True,
                  timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if out.returncode != 0:
        return {}
    rows = {}
    for line in out.stdout.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[0] in ids:
            rows[parts[0]] = (parts[1], parts[2])
    return rows


def orphans(log_paths, run=subprocess.run) -> list[str]:
    """IDs of jobs submitted in these logs that are still queued under the same job name's rule."""
    texts = []
    for p in log_paths:
        try:
            texts.append(Path(p).read_text(errors="replace"))
        except OSError:
            continue
    jobs = submitted_jobs(texts)
    live = queued(set(jobs), run=run)
    # the name check guards against a job ID reused by SLURM for someone else's job
    def same(name, logged):  # job name "<rule or group>.Run..." (snakemake_executor_plugin_lstosa_slurm)
        prefix = name.split(".")[0]
        return logged == prefix or logged.startswith(prefix + "_")
    return sorted((i for i, (name, _) in live.items() if same(name, jobs[i])), key=int)


def cancel(ids, run=subprocess.run) -> bool:
    if not ids:
        return True
    try:
        return run(["scancel", *ids], capture_output=True, text=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
