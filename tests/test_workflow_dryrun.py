"""Snakemake plans the night as designed (dry runs; no tools run)."""

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lstosa_snake.night.scale import write_seed_shaped_tree

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
NIGHT = dt.date(2020, 1, 27)


def snakemake(*args, timeout=300):
    cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(ROOT), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def job_counts(output: str) -> dict[str, int]:
    table = output.split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


@pytest.fixture(scope="module")
def seed_night(tmp_path_factory):
    root = tmp_path_factory.mktemp("seednight")
    write_seed_shaped_tree(root / "data", NIGHT)
    models = root / "models"
    models.mkdir()
    cfg = root / "lstchain.json"
    cfg.write_text("{}")
    return root, [
        f"data_root={root / 'data'}", f"models_dir={models}", f"lstchain_config={cfg}",
        f"calibration_config={cfg}", f"time_calibration_config={cfg}",
    ]


def test_dry_run_plans_seed_night(seed_night):
    root, cfg = seed_night
    res = snakemake("-n", "--cores", "2", "--config", "date=2020-01-27", *cfg)
    assert res.returncode == 0, res.stderr[-2000:]
    counts = job_counts(res.stdout)
    assert counts["drs4_pedestal"] == 1
    assert counts["time_calibration"] == 1 and counts["charge_calibration"] == 1
    assert counts["r0_to_dl1"] == 1521 and counts["dl1_to_dl2"] == 1521 and counts["dl1_datacheck"] == 1521
    assert counts["merge_dl1"] == counts["merge_dl2"] == counts["merge_muons"] == counts["run_datacheck"] == 8
    assert counts["night_datacheck"] == 1 and counts["close_night"] == 1


def test_exclusion_is_config_not_summary_edit(seed_night):
    root, cfg = seed_night
    res = snakemake("-n", "--cores", "2", "--config", "date=20200127", "exclude_runs=[1875]",
                    'exclude_subruns=["01874.0000","01874.0001"]', *cfg)
    assert res.returncode == 0, res.stderr[-2000:]
    counts = job_counts(res.stdout)
    assert counts["r0_to_dl1"] == 1521 - 225 - 2
    assert counts["merge_dl1"] == 7


@pytest.mark.parametrize(
    "args, message",
    [
        (["date=27-01-2020"], "date"),
        (["date=2020-01-27", "calibration_policy=sometimes"], "invalid configuration"),
        (["date=2020-01-27", "prod_id=../escape"], "invalid configuration"),
        (["date=2020-01-28"], "no night summary for 2020-01-28 and no raw files"),
    ],
)
def test_bad_config_one_line_error(seed_night, args, message):
    root, cfg = seed_night
    res = snakemake("-n", "--cores", "1", "--config", *cfg, *args)
    assert res.returncode != 0
    errors = [line for line in res.stderr.splitlines() if "lstosa-snake: ERROR" in line]
    assert len(errors) == 1 and message in errors[0], res.stderr[-1500:]
    assert "Traceback" not in res.stderr


def test_no_date_given():
    res = snakemake("-n", "--cores", "1")
    assert res.returncode != 0
    assert "lstosa-snake: ERROR: no night given: add --config date=YYYY-MM-DD" in res.stderr


def test_lint_is_clean(seed_night):
    """`snakemake --lint` finds nothing to say about any rule (the brief: the lint stays clean)."""
    root, cfg = seed_night
    res = snakemake("--lint", "--config", "date=2020-01-27", *cfg)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "Lints for" not in out, out[-3000:]
    assert "your workflow is in a good condition" in out, out[-3000:]
