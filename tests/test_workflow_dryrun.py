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


def slurm_jobs(output: str) -> list[tuple[str, tuple[str, ...], str]]:
    """The jobs of a dry run with profiles/slurm: (group or rule, its rules, its run.subrun), read from
    Snakemake's listing ("Group job NAME" blocks hold their jobs indented; a job outside a group is a job of
    its own; the listing does not mark local rules, which run in Snakemake itself)."""
    jobs, current = [], None
    for line in output.splitlines():
        if m := re.search(r"\] Group job (\w+) ", line):
            current = [m.group(1), [], set()]
            jobs.append(current)
        elif m := re.match(r"(\s*)(?:local)?rule (\w+):$", line):
            if not m.group(1):  # a job of its own
                current = [m.group(2), [m.group(2)], set()]
                jobs.append(current)
            else:
                current[1].append(m.group(2))
        elif current is not None and (m := re.search(r"wildcards: .*run=(\d{5})(?:, subrun=(\d{4}))?", line)):
            current[2].add(f"{m.group(1)}.{m.group(2)}" if m.group(2) else m.group(1))
    return [(name, tuple(sorted(rules)), ",".join(sorted(keys))) for name, rules, keys in jobs]


def test_slurm_job_listing_is_read_as_snakemake_prints_it():
    text = ("[Thu] Group job subrun_chain (jobs in lexicogr. order):\n\n    [Thu]\n    rule r0_to_dl1:\n"
            "        wildcards: run=01874, subrun=0002\n    [Thu]\n    rule dl1_to_dl2:\n"
            "        wildcards: run=01874, subrun=0002\n[Thu]\nrule merge_dl1:\n    wildcards: run=01874\n"
            "[Thu]\nlocalrule all:\n")
    assert slurm_jobs(text) == [("subrun_chain", ("dl1_to_dl2", "r0_to_dl1"), "01874.0002"),
                                ("merge_dl1", ("merge_dl1",), "01874"), ("all", ("all",), "")]


@pytest.fixture(scope="module")
def small_night(tmp_path_factory):
    root = tmp_path_factory.mktemp("smallnight")
    summary = write_seed_shaped_tree(root / "data", NIGHT, total_subruns=7)
    models = root / "models"
    models.mkdir()
    cfg = root / "lstchain.json"
    cfg.write_text("{}")
    subruns = {f"{r.run_id:05d}.{s:04d}" for r in summary.runs if r.run_type == "DATA" for s in range(r.n_subruns)}
    return subruns, [f"data_root={root / 'data'}", f"models_dir={models}", f"lstchain_config={cfg}",
                     f"calibration_config={cfg}", f"time_calibration_config={cfg}"]


# Per sub-run, the SLURM jobs and the rules each runs (issue 25): a rule added to the sub-run's work without its
# chain's group, or a group split in two by the DAG, changes these and fails here.
SUBRUN_JOBS = {
    "dl1ab=False": {("subrun_chain", ("dl1_datacheck", "dl1_to_dl2", "r0_to_dl1"))},
    "dl1ab=True": {("subrun_chain", ("r0_to_dl1",)), ("dl1b_chain", ("dl1_datacheck", "dl1_to_dl2", "dl1ab"))},
    "dl1ab=True store_image_dl1ab=False": {("subrun_chain", ("dl1_datacheck", "r0_to_dl1")),
                                           ("dl1b_chain", ("dl1_to_dl2", "dl1ab"))},
    # two-gain raw data: the gain selection runs in the sub-run's first job (docs/input-states.md)
    "dl1ab=False input_state=legacy_raw": {("subrun_chain", ("dl1_datacheck", "dl1_to_dl2", "gain_selection",
                                                             "r0_to_dl1"))},
    "dl1ab=True input_state=legacy_raw": {("subrun_chain", ("gain_selection", "r0_to_dl1")),
                                          ("dl1b_chain", ("dl1_datacheck", "dl1_to_dl2", "dl1ab"))},
}


@pytest.mark.parametrize("switches", sorted(SUBRUN_JOBS))
def test_slurm_jobs_per_subrun_and_calibration(small_night, switches):
    subruns, cfg = small_night
    res = snakemake("-n", "--profile", str(ROOT / "profiles" / "slurm"), "--config", "date=2020-01-27", *cfg,
                    *switches.split())
    assert res.returncode == 0, res.stderr[-2000:]
    jobs = slurm_jobs(res.stdout)
    per_subrun: dict[str, set] = {}
    for name, rules, key in jobs:
        if "." in key:
            assert "," not in key, f"{name} runs several sub-runs: {key}"
            per_subrun.setdefault(key, set()).add((name, rules))
    assert set(per_subrun) == subruns and len(subruns) >= 5
    for key, got in per_subrun.items():
        assert got == SUBRUN_JOBS[switches], (key, got)
    # the night's calibration: one job for the DRS4 pedestal, time and charge calibration
    assert [(n, r) for n, r, _ in jobs if n == "calibration"] == [
        ("calibration", ("charge_calibration", "drs4_pedestal", "time_calibration"))]
    assert not [j for j in jobs if j[0] in ("drs4_pedestal", "time_calibration", "charge_calibration")]
