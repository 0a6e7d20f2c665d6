"""Snakemake executor ``lstosa-slurm``: the SLURM executor plugin (2.8.0) tuned for a night of sub-runs.

Used by ``profiles/slurm`` (``executor: lstosa-slurm``). Everything the SLURM plugin does (sbatch
submission, resources, partitions, accounts, cancellation, logs) is inherited; these things differ,
each because it cost a real night time or clarity (measured in docs/performance.md):

* **Readable job names.** The plugin names every job after the Snakemake run's UUID, so ``squeue``
  shows hundreds of identical names. Here a job is named after what it processes, as LSTOSA's are:
  ``r0_to_dl1.Run01874.0001``, ``merge_dl1.Run01874``, ``drs4_pedestal.Run01872``.
* **Status by job ID.** With names no longer shared, status is polled for this user's jobs
  (``squeue --me``) or for the active job IDs (``sacct --jobs``), and only our IDs are read. sacct's
  ``CANCELLED by <uid>`` is read as ``CANCELLED`` (the plugin waits forever on it otherwise).
* **Bounded polling interval.** The plugin lets the interval grow by 10 s per quiet cycle up to
  180 s; a sub-run chain of three jobs then loses up to 9 minutes to polling alone. Here it is capped
  at ``--lstosa-slurm-max-status-check-seconds`` (default 30 s): one ``squeue`` call per cycle.
* **One Snakemake start per job.** The plugin runs Snakemake in the batch script, which runs ``srun``,
  which starts Snakemake a second time to run the job. A single-task job needs neither the second
  start nor the step: the batch script runs the job itself (``--executor local`` inside the
  allocation). ``--lstosa-slurm-jobstep`` restores the plugin's way (MPI or multi-task jobs).
* **Groups run serially.** A group job (profiles/slurm: a sub-run's chain) asks for the CPUs of its
  widest job, the largest memory request and the sum of the runtimes, and its jobs run one after
  another (Snakemake would size it for its jobs side by side). A failed submission of a group job
  is reported (the plugin's own error path reads ``job.rule``, which a group has not, and hangs).
"""

import re
import shlex
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

import snakemake_executor_plugin_slurm as _slurm
from snakemake_executor_plugin_slurm import Executor as _SlurmExecutor
from snakemake_executor_plugin_slurm import ExecutorSettings as _SlurmSettings
from snakemake_executor_plugin_slurm import common_settings  # noqa: F401  (the registry reads it)
from snakemake_interface_executor_plugins.executors.base import SubmittedJobInfo

_direct = threading.local()
#: Executors of this plugin alive in this process, by run UUID (the status-query hooks look them up).
_OURS = {}


@dataclass
class ExecutorSettings(_SlurmSettings):
    max_status_check_seconds: Optional[int] = field(
        default=30,
        metadata={
            "help": "Upper bound (s) of the polling interval. The SLURM plugin grows it by 10 s per cycle "
                    "without a finished job, up to 180 s; that much idle time after each job adds up over "
                    "a chain of jobs.",
            "env_var": False,
            "required": False,
        },
    )
    jobstep: bool = field(
        default=False,
        metadata={
            "help": "Run each job through the plugin's jobstep executor (srun + a second Snakemake) "
                    "instead of directly in the batch script. Needed only for MPI or multi-task jobs.",
            "env_var": False,
            "required": False,
        },
    )


def job_name(job) -> str:
    """``<rule>.Run<run>[.<subrun>]`` (or the rule or group name alone): what squeue and sacct show."""
    if job.is_group():
        # a group of one sub-run's chain: named after the group and the sub-run of its first job
        first = min(job.jobs, key=lambda j: j.name)
        return job.groupid + job_name(first)[len(first.name):]
    try:
        wc = dict(job.wildcards.items())
    except AttributeError:
        wc = {}
    name = job.name
    if wc.get("run"):
        name += f".Run{wc['run']}"
        if wc.get("subrun"):
            name += f".{wc['subrun']}"
    elif wc.get("date"):
        name += f".{wc['date']}"
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name)[:100]


class Executor(_SlurmExecutor):
    def __post_init__(self, test_mode: bool = False):
        super().__post_init__(test_mode)
        self._polled_ids = []
        _OURS[self.run_uuid] = self

    def format_job_exec(self, job):
        # Called from the submission threads: the choice travels in a thread-local.
        _direct.on = not (self.workflow.executor_settings.jobstep or self.array_jobs
                          or job.resources.get("mpi", False))
        try:
            return super().format_job_exec(job)
        finally:
            _direct.on = False

    def get_job_args(self, job):
        args = super().get_job_args(job)
        if job.is_group():
            # a group (a sub-run's chain) runs its jobs one after another on the CPUs of its widest job
            args = re.sub(r"--cores \S+", f"--cores {group_cpus(job)}", args)
        return args

    def run_job(self, job):
        try:
            super().run_job(job)
        except Exception as exc:  # noqa: BLE001
            # The plugin's own error path fails for group jobs (it reads job.rule), and the job then
            # waits forever without a word: report it here.
            self.logger.error(f"submission of {job_name(job)} failed: {exc!r}")
            self._report_job_error_threadsafe(SubmittedJobInfo(job), f"SLURM submission failed: {exc!r}")

    def additional_general_args(self):
        if not getattr(_direct, "on", False):
            return super().additional_general_args()
        # Inside the allocation this Snakemake runs the job (or the group's jobs, one after another)
        # itself: no srun, no second start. Array tasks and MPI jobs keep the plugin's jobstep executor.
        return "--executor local --jobs 1"

    async def check_active_jobs(self, active_jobs):
        self._polled_ids = [j.external_jobid for j in active_jobs]
        async for job_info in super().check_active_jobs(active_jobs):
            yield job_info
        cap = self.workflow.executor_settings.max_status_check_seconds
        if cap and self.next_seconds_between_status_checks > cap:
            self.next_seconds_between_status_checks = cap

    def shutdown(self) -> None:
        try:
            super().shutdown()
        finally:
            _OURS.pop(self.run_uuid, None)


def group_cpus(job) -> int:
    return max(j.threads for j in job.jobs)


def _submit_command(job, params, *args, **kwargs):
    call = _original["submit"](job, params, *args, **kwargs)
    if (params or {}).get("run_uuid") in _OURS:
        if job.is_group():
            # Snakemake sizes a group for its jobs running side by side (CPUs and memory summed over
            # each layer of the group, runtimes summed over layers); ours run one after another
            # (get_job_args): the widest job's CPUs, the largest memory, the sum of all runtimes.
            jobs = list(job.jobs)
            call = re.sub(r"--cpus-per-task=\d+", f"--cpus-per-task={group_cpus(job)}", call)
            mems = [j.resources.get("mem_mb") for j in jobs]
            if all(isinstance(m, int) for m in mems):
                call = re.sub(r"--mem \d+", f"--mem {max(mems)}", call)
            runtimes = [j.resources.get("runtime") for j in jobs]
            if all(isinstance(r, int) for r in runtimes):
                call = re.sub(r" -t \S+", f" -t {sum(runtimes)}", call)
        # sbatch honours the last --job-name given
        call += f" --job-name {shlex.quote(job_name(job))}"
    return call


def _squeue_command(runid):
    if runid not in _OURS:
        return _original["squeue"](runid)
    # --me: every job of this user (a single unknown --jobs ID makes squeue fail); ours are picked by ID.
    return "squeue --me --states=all --noheader --format=%i|%T"


def _sacct_command(runid):
    ours = _OURS.get(runid)
    if ours is None:
        return _original["sacct"](runid)
    ids = ",".join(ours._polled_ids) or "0"
    start = f"{datetime.now() - timedelta(days=2):%Y-%m-%dT%H:00}"
    return (f"sacct -X --parsable2 --clusters all --noheader --format=JobIdRaw,State "
            f"--starttime {start} --endtime now --jobs {ids}")


async def _query_job_status(command, logger):
    status, seconds = await _original["query"](command, logger)
    if status:
        # sacct says "CANCELLED by 0" for a scancel'ed job; the plugin only knows "CANCELLED".
        status = {k: v.split(" by ", 1)[0] for k, v in status.items()}
    return status, seconds


_original = {
    "submit": _slurm.get_submit_command,
    "squeue": _slurm.query_job_status_squeue,
    "sacct": _slurm.query_job_status_sacct,
    "query": _slurm.query_job_status,
}
# The plugin calls these module-level functions by name. The submit and status-command hooks act only
# for executors of this plugin (by run UUID) and hand everything else to the original; the status
# parser's "CANCELLED by <uid>" reading applies to every SLURM executor in the process.
_slurm.get_submit_command = _submit_command
_slurm.query_job_status_squeue = _squeue_command
_slurm.query_job_status_sacct = _sacct_command
_slurm.query_job_status = _query_job_status
