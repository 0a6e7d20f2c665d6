"""The synthetic night processed by the whole workflow with the real tools (session-scoped).

Shared by the end-to-end tests (local executor) and the SLURM tests that compare their products
with the local run's.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from slurm_fixtures import REPO, clean_env, run_snakemake
from synthetic_fixtures import LST_BIN, make_night, run_tool
from tiers import require_or_skip

E2E_NIGHT = dict(data_runs=2, subruns=2, events_per_subrun=120, drs4_events=500, cali_events=600, first_run=2001)
EXCLUDED = "02004.0001"  # excluded by configuration: the run closes with one sub-run
MODELS_CACHE = Path(os.environ.get("LSTOSA_MODELS_CACHE", REPO / ".cache" / "models"))


@contextlib.contextmanager
def across_workers(tmp_path_factory, name: str):
    """Directory shared by all pytest-xdist workers of this session, held under an exclusive lock.

    Session fixtures are per worker process: an expensive product (the real-tool night, the
    models) is made once by whichever worker gets here first; the others wait, then reuse it.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the per-worker dirs share this parent
    shared = base / f"shared_{name}"
    shared.mkdir(parents=True, exist_ok=True)
    with open(base / f"shared_{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield shared
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    if not (LST_BIN / "lstosa-make-models").exists():
        require_or_skip(f"lstchain tools not installed in {LST_BIN} (run scripts/setup.sh)", tier="tools")
    with across_workers(tmp_path_factory, "models"):  # one training at a time into the cache
        run_tool([str(LST_BIN / "lstosa-make-models"), "--output-dir", MODELS_CACHE,
                  "--config", REPO / "config" / "lstchain" / "lstchain_config.json"])
    return MODELS_CACHE


@dataclass
class ProcessedNight:
    data_root: Path
    workdir: Path
    models: Path
    config_args: list[str]
    result: object
    raw_before: dict

    def product(self, *parts) -> Path:
        return self.data_root.joinpath(*parts)


def raw_snapshot(data_root: Path) -> dict:
    """Name -> (size, mtime_ns) of every raw file: the workflow must never touch them."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in (data_root / "R0").rglob("*") if p.is_file()}


def night_config(data_root: Path, models: Path, extra=()) -> list[str]:
    return ["--config", "date=2020-01-27", f"data_root={data_root}", f"models_dir={models}",
            f'exclude_subruns=["{EXCLUDED}"]', *extra]


@pytest.fixture(scope="session")
def local_night(models_dir, tmp_path_factory) -> ProcessedNight:
    """The synthetic night generated and processed locally (2 cores) once per test session,
    Snakemake's state in its own directory; shared by all workers (see across_workers)."""
    if not (LST_BIN / "lstosa-make-night").exists():
        require_or_skip(f"lstchain tools not installed in {LST_BIN} (run scripts/setup.sh)", tier="tools")
    with across_workers(tmp_path_factory, "local_night") as shared:
        done = shared / "done.json"
        data, work = shared / "e2e" / "data", shared / "e2e_work"
        args = ["--snakefile", REPO / "Snakefile", "--directory", work, "--cores", "2",
                *night_config(data, models_dir)]
        if not done.exists():
            make_night(data, **E2E_NIGHT)
            work.mkdir(parents=True, exist_ok=True)
            raw_before = raw_snapshot(data)
            result = run_snakemake(args, cwd=work, timeout=1500, env=clean_env())
            done.write_text(json.dumps({"returncode": result.returncode, "report": str(result),
                                        "raw_before": {k: list(v) for k, v in raw_before.items()}}))
        state = json.loads(done.read_text())
    assert state["returncode"] == 0, state["report"]
    raw_before = {k: tuple(v) for k, v in state["raw_before"].items()}
    return ProcessedNight(data, work, models_dir, [str(a) for a in args], state["report"], raw_before)
