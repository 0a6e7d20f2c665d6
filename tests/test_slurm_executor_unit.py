"""The lstosa-slurm executor's own logic, without a cluster: job names, status commands, state parsing,
the orphaned-job finder of lstosa-nightly. (Its behaviour on the real cluster: test_slurm.py,
test_slurm_scale.py.)"""

import asyncio
import subprocess
from types import SimpleNamespace

import pytest

pytest.importorskip("snakemake_executor_plugin_slurm")

import snakemake_executor_plugin_lstosa_slurm as lss  # noqa: E402
import snakemake_executor_plugin_slurm as base  # noqa: E402
from lstosa_snake.ops import slurm_jobs  # noqa: E402


class FakeWildcards(dict):
    pass


def fake_job(name, group=False, **wildcards):
    return SimpleNamespace(name=name, is_group=lambda: group, wildcards=FakeWildcards(wildcards))


def fake_group(groupid, *jobs):
    return SimpleNamespace(name="x", groupid=groupid, is_group=lambda: True, jobs=list(jobs))


@pytest.mark.parametrize("job, expected", [
    (fake_job("r0_to_dl1", run="01874", subrun="0001"), "r0_to_dl1.Run01874.0001"),
    (fake_job("merge_dl1", run="01874"), "merge_dl1.Run01874"),
    (fake_job("drs4_pedestal", run="01872"), "drs4_pedestal.Run01872"),
    (fake_job("night_datacheck"), "night_datacheck"),
    (fake_group("subrun_chain", fake_job("r0_to_dl1", run="01874", subrun="0001"),
                fake_job("dl1_to_dl2", run="01874", subrun="0001")), "subrun_chain.Run01874.0001"),
    (fake_job("odd", run="1/2 3"), "odd.Run1_2_3"),
])
def test_job_names_say_rule_run_and_subrun(job, expected):
    assert lss.job_name(job) == expected


def test_plugin_functions_are_hooked_only_for_our_executors():
    assert base.get_submit_command is lss._submit_command
    assert base.query_job_status_squeue is lss._squeue_command
    # another executor's run (not registered as ours) keeps the plugin's commands
    assert "--name other-run" in lss._squeue_command("other-run")
    assert "--name other-run" in lss._sacct_command("other-run")
    ours = SimpleNamespace(_polled_ids=["11", "12"])
    lss._OURS["our-run"] = ours
    try:
        assert lss._squeue_command("our-run") == "squeue --me --states=all --noheader --format=%i|%T"
        cmd = lss._sacct_command("our-run")
        assert "--jobs 11,12" in cmd and "--name" not in cmd
    finally:
        del lss._OURS["our-run"]


def test_submit_command_gets_the_readable_name_last():
    job = fake_job("r0_to_dl1", run="01874", subrun="0003")
    saved = lss._original["submit"]
    lss._original["submit"] = lambda job, params, *a, **k: f"sbatch --job-name {params['run_uuid']} -t 60"
    lss._OURS["u1"] = object()
    try:
        assert lss._submit_command(job, {"run_uuid": "u1"}) == "sbatch --job-name u1 -t 60 --job-name r0_to_dl1.Run01874.0003"
        assert lss._submit_command(job, {"run_uuid": "someone-else"}) == "sbatch --job-name someone-else -t 60"
    finally:
        lss._original["submit"] = saved
        del lss._OURS["u1"]


def test_cancelled_by_uid_is_read_as_cancelled():
    class Log:
        def debug(self, *a):
            pass
    cmd = "printf '7|CANCELLED by 0\\n8|COMPLETED\\n9|RUNNING\\n'"
    status, seconds = asyncio.run(lss._query_job_status(f"sh -c {subprocess.list2cmdline([cmd])}", Log()))
    assert status == {"7": "CANCELLED", "8": "COMPLETED", "9": "RUNNING"}
    assert seconds >= 0


def test_settings_extend_the_plugins():
    fields = set(lss.ExecutorSettings.__dataclass_fields__)
    assert {"max_status_check_seconds", "jobstep", "status_command", "init_seconds_before_status_checks"} <= fields
    assert lss.ExecutorSettings().max_status_check_seconds == 30


LOG = """Job 12 has been submitted with SLURM jobid 401 (log: /w/.snakemake/slurm_logs/rule_r0_to_dl1/01874_0001/401.log).
Job 13 has been submitted with SLURM jobid 402 (log: /w/.snakemake/slurm_logs/rule_r0_to_dl1/01874_0002/402.log).
Job 14 has been submitted with SLURM jobid 403 (log: /w/.snakemake/slurm_logs/rule_merge_dl1/01874/403.log).
Job 15 has been submitted with SLURM jobid 404 (log: /w/.snakemake/slurm_logs/group_subrun_chain_dl1_to_dl2_r0_to_dl1/x/404.log).
"""


def test_orphans_are_our_queued_jobs_with_matching_names(tmp_path):
    log = tmp_path / "nightly_1.log"
    log.write_text(LOG)
    assert slurm_jobs.submitted_jobs([LOG]) == {"401": "r0_to_dl1", "402": "r0_to_dl1", "403": "merge_dl1",
                                                "404": "subrun_chain_dl1_to_dl2_r0_to_dl1"}

    def squeue(cmd, **kw):
        assert cmd[0] == "squeue" and "--me" in cmd
        # 401 still running; 402 finished (absent); 403's ID reused by somebody else's job
        return subprocess.CompletedProcess(cmd, 0, "401|r0_to_dl1.Run01874.0001|RUNNING\n403|other_job|PENDING\n"
                                           "404|subrun_chain.Run01874.0004|PENDING\n", "")
    assert slurm_jobs.orphans([log, tmp_path / "missing.log"], run=squeue) == ["401", "404"]

    def failing(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 1, "", "slurm_load_jobs error")
    assert slurm_jobs.orphans([log], run=failing) == []
    calls = []
    assert slurm_jobs.cancel(["401"], run=lambda cmd, **kw: calls.append(cmd) or subprocess.CompletedProcess(cmd, 0))
    assert calls == [["scancel", "401"]]
