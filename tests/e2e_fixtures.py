"""The synthetic night processed by the whole workflow with the real tools (session-scoped).

Shared by the end-to-end tests (local executor) and the SLURM tests that compare their products
with the local run's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from slurm_fixtures import REPO, clean_env, run_snakemake
from synthetic_fixtures import LST_BIN, make_night, run_tool

E2E_NIGHT = dict(data_runs=2, subruns=2, events_per_subrun=120, drs4_events=500, cali_events=600, first_run=2001)
EXCLUDED = "02004.0001"  # excluded by configuration: the run closes with one sub-run
MODELS_CACHE = Path(os.environ.get("LSTOSA_MODELS_CACHE", REPO / ".cache" / "models"))


@pytest.fixture(scope="session")
def models_dir() -> Path:
    if not (LST_BIN / "lstosa-make-models").exists():
        pytest.skip("tools environment missing (run scripts/setup.sh)")
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
def generated_night(tmp_path_factory) -> Path:
    if not (LST_BIN / "lstosa-make-night").exists():
        pytest.skip("tools environment missing (run scripts/setup.sh)")
    return make_night(tmp_path_factory.mktemp("e2e") / "data", **E2E_NIGHT)


@pytest.fixture(scope="session")
def local_night(generated_night, models_dir, tmp_path_factory) -> ProcessedNight:
    """The generated night processed locally (2 cores), Snakemake state in its own directory."""
    work = tmp_path_factory.mktemp("e2e_work")
    args = ["--snakefile", REPO / "Snakefile", "--directory", work, "--cores", "2",
            *night_config(generated_night, models_dir)]
    raw_before = raw_snapshot(generated_night)
    result = run_snakemake(args, cwd=work, timeout=1500, env=clean_env())
    assert result.returncode == 0, str(result)
    return ProcessedNight(generated_night, work, models_dir, args, result, raw_before)
