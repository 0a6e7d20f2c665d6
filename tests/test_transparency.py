"""Cherenkov transparency (workflow/rules/transparency.smk) on the night processed with the real tools.

``local_night`` (tests/e2e_fixtures.py) runs the whole workflow once per session with the default
``cherenkov_transparency: true``: lstchain_cherenkov_transparency adds its table to a copy of the
night-wise datacheck file, the copy replaces the final file, and the night page plots it.
"""

from __future__ import annotations

import json
import math
import os
import subprocess

import pytest

from e2e_fixtures import EXCLUDED
from synthetic_fixtures import LST_PYTHON, REPO

pytestmark = [pytest.mark.e2e, pytest.mark.tools]

DATE = "20200127"
PROD = "v0.12"
TABLE_READER = """
import json, sys
import pandas as pd
df = pd.read_hdf(sys.argv[1], "cosmics_intensity_spectrum")
print(json.dumps({c: [None if v != v else v for v in df[c].tolist()] for c in
                  ("runnumber", "subrun", "light_yield", "cosmics_rate", "intensity_at_half_peak_rate",
                   "ZD_corrected_cosmics_rate_at_422_pe", "picture_thresh")}))
"""


def night_file(night):
    return night.product("DL1", "datacheck_files", "night_wise", PROD, DATE, f"DL1_datacheck_{DATE}.h5")


def processed_subruns(night) -> set[tuple[int, int]]:
    """(run, sub-run) of every DATA sub-run of the night but the excluded one (the truth plan)."""
    plan = json.loads((night.data_root / "synthetic_truth" / DATE / "night.json").read_text())
    ex_run, ex_sub = (int(x) for x in EXCLUDED.split("."))
    return {(r["run"], s) for r in plan["runs"] if r["run_type"] == "DATA"
            for s in range(r["n_subruns"]) if (r["run"], s) != (ex_run, ex_sub)}


def test_transparency_values_per_run_in_the_night_wise_file(local_night):
    out = subprocess.run([str(LST_PYTHON), "-c", TABLE_READER, str(night_file(local_night))],
                         capture_output=True, text=True, timeout=300, check=True)
    table = json.loads(out.stdout.strip().splitlines()[-1])
    rows = list(zip(table["runnumber"], table["subrun"]))
    assert set(rows) == processed_subruns(local_night) and len(rows) == len(set(rows)), rows
    for i, (run, sub) in enumerate(rows):
        # 120 synthetic events per sub-run: a cosmic rate of tens of Hz and a finite intensity threshold
        assert table["cosmics_rate"][i] > 1, (run, sub, table["cosmics_rate"][i])
        assert table["intensity_at_half_peak_rate"][i] is not None
        assert table["picture_thresh"][i] in (8, 10, 12, 14, 16, 18)  # the cleaning of the DL1 files (tailcut)
    per_run = {}
    for i, (run, _) in enumerate(rows):
        per_run.setdefault(run, []).append(table["light_yield"][i])
    for run, values in per_run.items():  # the transparency proper: a light yield for every run
        assert any(v is not None and math.isfinite(v) and v > 0 for v in values), (run, values)


def test_final_file_replaced_not_updated_in_place(local_night):
    """The longterm check wrote an intermediate (removed once used: temp); the transparency job took a
    copy of it and its record names the intermediate as input and the night-wise file as output."""
    running = local_night.product("running_analysis", DATE, PROD)
    assert not (running / "night_datacheck" / f"DL1_datacheck_{DATE}.h5").exists()
    rec = json.loads((running / "provenance" / "jobs" / f"cherenkov_transparency_{DATE}.json").read_text())
    assert rec["tool"] == "lstchain_cherenkov_transparency" and rec["distribution"] == "lstchain"
    assert [o["path"] for o in rec["outputs"]] == [str(night_file(local_night))]
    inputs = {i["path"] for i in rec["inputs"]}
    assert str(running / "night_datacheck" / f"DL1_datacheck_{DATE}.h5") in inputs
    runs = {r for r, _ in processed_subruns(local_night)}
    # the run datacheck files, in LSTOSA's <tailcut>/datacheck/ behind the workflow's links (docs/layout.md)
    assert {os.path.realpath(local_night.product("DL1", DATE, PROD, "datacheck", f"datacheck_dl1_LST-1.Run{r:05d}.h5"))
            for r in runs} <= inputs
    longterm = json.loads((running / "provenance" / "jobs" / f"night_datacheck_{DATE}.json").read_text())
    assert str(running / "night_datacheck" / f"DL1_datacheck_{DATE}.h5") in [o["path"] for o in longterm["outputs"]]
    bench = running / "benchmarks" / "datacheck" / "cherenkov_transparency.tsv"
    assert bench.is_file() and len(bench.read_text().splitlines()) == 2


def test_night_page_shows_the_transparency_per_run(local_night):
    night_dir = local_night.product("datacheck_web", PROD, DATE)
    night = json.loads((night_dir / "night.json").read_text())
    (plot,) = [p for p in night["plots"] if p["path"].endswith("transparency/transparency.png")]
    assert plot["run"] is None  # a night-wide plot
    assert (night_dir / plot["path"]).stat().st_size > 10_000  # drawn, not the placeholder
    runs = {r for r, _ in processed_subruns(local_night)}
    for run in runs:
        assert f"Run {run:05d}: light yield " in plot["caption"]
    assert "transparency" in (night_dir / "index.html").read_text()
    manifest = json.loads(local_night.product("DL1", DATE, PROD, "datacheck", "plots", "transparency",
                                              "plots.json").read_text())
    assert sorted(manifest["plots"][0]["runs"]) == sorted(f"{r:05d}" for r in runs)
    assert "error" not in manifest["plots"][0]


def test_switch_off_keeps_the_plain_longterm_file(synthetic_night, models_dir, tmp_path):
    """cherenkov_transparency: False: night_datacheck writes the night-wise file itself, no transparency jobs
    (dry run of a generated night into an empty output tree)."""
    from slurm_fixtures import run_snakemake

    res = run_snakemake(["--snakefile", REPO / "Snakefile", "-n", "--config", "date=2020-01-27",
                         f"data_root={synthetic_night.root}", f"models_dir={models_dir}", f"output_root={tmp_path}",
                         "cherenkov_transparency=False"], cwd=tmp_path, timeout=300)
    assert res.returncode == 0, str(res)
    assert "rule night_datacheck" in res.output
    assert "rule cherenkov_transparency" not in res.output and "rule transparency_plot" not in res.output
    assert f"{tmp_path}/DL1/datacheck_files/night_wise/{PROD}/{DATE}/DL1_datacheck_{DATE}.h5" in res.output
    assert f"{PROD}/night_datacheck/DL1_datacheck_{DATE}.h5" not in res.output
