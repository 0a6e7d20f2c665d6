"""Progress of a Snakemake pass from its output; the one-line error; job counts of a dry run."""

from __future__ import annotations

import io

from lstosa_snake.ops.nightly import join_option_values
from lstosa_snake.ops.progress import Progress, error_line, eta_text, job_stats

STATS = """Building DAG of jobs...
Job stats:
job                   count
------------------  -------
r0_to_dl1                 3
merge_dl1                 1
all                       1
total                     5

Select jobs to execute...
"""


def finished(rule: str, n: int, total: int = 5) -> str:
    return f"[Tue Dec  1 11:21:41 2026]\nFinished jobid: {n} (Rule: {rule})\n{n} of {total} steps ({100 * n // total}%) done\n"


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_job_stats_and_error_line():
    assert job_stats(STATS) == {"r0_to_dl1": 3, "merge_dl1": 1, "all": 1}
    assert job_stats("Nothing to be done (all requested files are present and up to date).") == {}
    ours = "Config file ... extended\nlstosa-snake: ERROR: drive log /x/DrivePosition_log_20200127.txt does not exist\n"
    assert error_line(ours) == "drive log /x/DrivePosition_log_20200127.txt does not exist"
    smk = "Building DAG of jobs...\nWorkflowError:\nFailed to open source file /x/y.smk\n  File ...\n"
    assert error_line(smk) == "WorkflowError: Failed to open source file /x/y.smk"
    assert error_line("usage: snakemake ...\nsnakemake: error: unrecognized arguments: -x\n") == (
        "snakemake: error: unrecognized arguments: -x")


def test_not_on_a_terminal_a_line_per_finished_stage_and_every_interval():
    lines, clock = [], Clock()
    p = Progress("pass 1", lines.append, stream=None, every=600, clock=clock)
    p.feed(STATS[:40])  # the table arrives in pieces
    p.feed(STATS[40:])
    clock.t += 60
    p.feed(finished("r0_to_dl1", 1) + finished("r0_to_dl1", 2))
    p.tick()
    assert lines == []  # quiet: no stage finished, the interval not reached
    clock.t += 60
    p.feed(finished("r0_to_dl1", 3))
    assert lines == ["pass 1: r0_to_dl1 done (3 jobs); 3 of 5 jobs (60 %), ETA 1 min"]  # 2 left at 40 s a job
    clock.t += 600
    p.tick()
    assert lines[-1] == "pass 1: 3 of 5 jobs (60 %), ETA 8 min; under way or waiting: merge_dl1 0/1"
    p.feed(finished("merge_dl1", 4) + finished("all", 5))
    p.close()
    assert lines[-2:] == ["pass 1: merge_dl1 done (1 job); 4 of 5 jobs (80 %), ETA 3 min",
                          "pass 1: 5 of 5 jobs done in 720 s"]  # 'all' is not a stage


def test_a_group_job_finishes_several_stages_at_once():
    lines = []
    p = Progress("pass 1", lines.append, clock=Clock())
    p.feed(STATS.replace("merge_dl1                 1", "dl1_to_dl2                1"))
    p.feed(finished("r0_to_dl1", 1) + finished("r0_to_dl1", 2))
    p.feed("Finished jobid: 3 (Rule: r0_to_dl1)\nFinished jobid: 4 (Rule: dl1_to_dl2)\n4 of 5 steps (80%) done\n")
    assert [x.split(";")[0] for x in lines] == ["pass 1: r0_to_dl1 done (3 jobs)", "pass 1: dl1_to_dl2 done (1 job)"]


def test_on_a_terminal_one_status_line_redrawn_in_place():
    lines, clock, term = [], Clock(), io.StringIO()
    p = Progress("pass 1", lines.append, stream=term, clock=clock)
    p.feed(STATS)
    clock.t += 30
    p.feed(finished("r0_to_dl1", 1))
    p.tick()
    clock.t += 0.5
    p.tick()  # less than a second later: not redrawn
    assert term.getvalue() == "\r\x1b[Kpass 1: 1 of 5 jobs (20 %), ETA 2 min | r0_to_dl1 1/3, merge_dl1 0/1"
    assert lines == []  # stage lines are for logs, not the terminal
    p.close()
    assert term.getvalue().endswith("\r\x1b[K") and lines == ["pass 1: 1 of 5 jobs done in 30 s"]


def test_eta_text():
    assert [eta_text(x) for x in (None, 5, 89, 3600 + 25 * 60)] == ["ETA ?", "ETA <1 min", "ETA 1 min", "ETA 1 h 25 min"]


def test_snakemake_args_values_starting_with_a_dash():
    assert join_option_values(["--date", "D", "--snakemake-args", "-n", "--cores", "2"]) == [
        "--date", "D", "--snakemake-args=-n", "--cores", "2"]
    assert join_option_values(["--snakemake-args=--dry-run"]) == ["--snakemake-args=--dry-run"]
