"""End to end: the synthetic night through the whole workflow with the real lstchain tools.

One local run of the night (session fixture ``local_night``: 2 DATA runs x 2 sub-runs x 120
events, sub-run 02004.0001 excluded by configuration); every test asserts on its products' content.
"""

import json
import subprocess

import pytest

from e2e_fixtures import EXCLUDED, raw_snapshot
from synthetic_fixtures import LST_PYTHON, REPO

pytestmark = [pytest.mark.e2e, pytest.mark.tools]

DATE = "20200127"
PROD = "v0.12"


def probe(*args):
    out = subprocess.run([str(LST_PYTHON), str(REPO / "tests" / "h5_probe.py"), *map(str, args)],
                         capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def truth_plan(night):
    return json.loads((night.data_root / "synthetic_truth" / DATE / "night.json").read_text())


def data_runs(night):
    return [r for r in truth_plan(night)["runs"] if r["run_type"] == "DATA"]


def included(run):
    ex_run, ex_sub = (int(x) for x in EXCLUDED.split("."))
    return [s for s in range(run["n_subruns"]) if (run["run"], s) != (ex_run, ex_sub)]


def truth_event_ids(night, run, subruns):
    ids = []
    for s in subruns:
        lines = (night.data_root / "synthetic_truth" / DATE / f"truth_LST-1.Run{run:05d}.{s:04d}.csv").read_text()
        header, *rows = lines.strip().splitlines()
        col = header.split(",").index("event_id")
        ids += [int(r.split(",")[col]) for r in rows]
    return sorted(ids)


def test_dl1_counts_and_columns_per_run(local_night):
    for run in data_runs(local_night):
        r = run["run"]
        subruns = included(run)
        (merged,) = probe(local_night.product("DL1", DATE, PROD, f"dl1_LST-1.Run{r:05d}.h5"))
        assert merged["rows"] == run["events_per_subrun"] * len(subruns)
        assert sorted(merged["event_ids"]) == truth_event_ids(local_night, r, subruns)
        for col in ("intensity", "x", "y", "width", "length", "psi", "event_type", "alt_tel", "az_tel"):
            assert col in merged["columns"]
        # merged DL1 is written without images; the sub-run files keep them
        assert not any("image" in n for n in merged["nodes"])
        (sub,) = probe(local_night.product("DL1", DATE, PROD, f"dl1_LST-1.Run{r:05d}.{subruns[0]:04d}.h5"))
        assert any("/dl1/event/telescope/image" in n for n in sub["nodes"])
        # interleaved pedestal and flat-field events are classified as such
        assert set(merged["event_types"]) >= {"32", "0", "2"}


def test_excluded_subrun_not_processed(local_night):
    run, sub = EXCLUDED.split(".")
    assert not local_night.product("DL1", DATE, PROD, f"dl1_LST-1.Run{run}.{sub}.h5").exists()
    assert not local_night.product("DL2", DATE, PROD, f"dl2_LST-1.Run{run}.{sub}.h5").exists()
    report = json.loads(local_night.product("running_analysis", DATE, PROD, "night_report.json").read_text())
    seq = next(s for s in report["sequences"] if s["run"] == int(run))
    assert seq["excluded_subruns"] == [int(sub)] and seq["processed_subruns"] == 1


def test_dl2_content(local_night):
    config = REPO / "config" / "lstchain" / "lstchain_config.json"
    for run in data_runs(local_night):
        r = run["run"]
        dl1 = local_night.product("DL1", DATE, PROD, f"dl1_LST-1.Run{r:05d}.h5")
        (dl2,) = probe(local_night.product("DL2", DATE, PROD, f"dl2_LST-1.Run{r:05d}.h5"))
        for col in ("reco_energy", "reco_alt", "reco_az", "reco_src_x", "reco_src_y", "gammaness"):
            assert col in dl2["columns"]
        assert 0.0 <= dl2["gammaness_min"] <= dl2["gammaness_max"] <= 1.0 and dl2["gammaness_nan"] == 0
        assert dl2["reco_energy_positive"]
        # every event of the run's DL1b sub-runs (re-cleaned by dl1ab: what DL2 is made from) that lstchain's
        # DL2 filters keep is in DL2, and nothing else
        dl1b = sorted(local_night.product("DL1", DATE, PROD, "dl1b").glob(f"dl1_LST-1.Run{r:05d}.*.h5"))
        assert dl1b and dl1.is_file()
        kept = [e for f in dl1b for e in probe("--filtered", f, config)]
        assert sorted(dl2["event_ids"]) == sorted(kept)
        assert dl2["rows"] > 0


def test_calibration_used_by_each_run(local_night):
    plan = truth_plan(local_night)
    drs4 = next(r["run"] for r in plan["runs"] if r["run_type"] == "DRS4")
    cali = next(r["run"] for r in plan["runs"] if r["run_type"] == "CALI")
    report = json.loads(local_night.product("running_analysis", DATE, PROD, "night_report.json").read_text())
    for run in data_runs(local_night):
        seq = next(s for s in report["sequences"] if s["run"] == run["run"])
        files = seq["calibration_files"]
        assert files["drs4_pedestal"].endswith(f"drs4_baseline/{DATE}/v0.12.3/drs4_pedestal.Run{drs4:05d}.0000.h5")
        assert files["charge_calibration"].endswith(f"calibration_filters_52.Run{cali:05d}.0000.h5")
        assert files["time_calibration"].endswith(f"time_calibration.Run{cali:05d}.0000.h5")
        # and the tool really got them: the r0_to_dl1 command line in the job's log
        log = local_night.product("running_analysis", DATE, PROD, "log", "r0_to_dl1",
                                  f"r0_to_dl1.Run{run['run']:05d}.0000.log").read_text()
        for path in files.values():
            assert f"{path}" in log


def test_datacheck_and_night_closed(local_night):
    for run in data_runs(local_night):
        pdf = local_night.product("DL1", DATE, PROD, "datacheck", f"datacheck_dl1_LST-1.Run{run['run']:05d}.pdf")
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000
    (night_dc,) = probe(local_night.product("DL1", "datacheck_files", "night_wise", PROD, DATE,
                                             f"DL1_datacheck_{DATE}.h5"))
    assert night_dc["nodes"]
    finished = local_night.product("running_analysis", DATE, PROD, "NightFinished.txt").read_text()
    assert finished.startswith("night 2020-01-27 closed")


def test_no_partial_files_and_raw_data_untouched(local_night):
    staging = local_night.product("running_analysis", DATE, PROD, "staging")
    assert not staging.exists() or not any(staging.iterdir())
    partial = [p for p in local_night.data_root.rglob("*") if p.name.endswith(".partial")]
    assert partial == []
    assert raw_snapshot(local_night.data_root) == local_night.raw_before


def test_rerun_is_a_noop(local_night):
    from slurm_fixtures import run_snakemake

    res = run_snakemake([*local_night.config_args, "-n"], cwd=local_night.workdir, timeout=300)
    assert res.returncode == 0, str(res)
    assert "Nothing to be done" in res.output


def test_memory_requests_cover_this_nights_measured_peaks(local_night):
    """Each rule's request covers its peak on this run's real-tool night with at least 20 % to spare (plus the
    job's Snakemake). The requests are peak x 1.5 (lstosa_snake.jobs.resources); a rule whose fresh peak eats more
    than that has outgrown its recorded peak. (Peaks vary by 5-25 % between runs: an exact x 1.5 check fails
    by chance.)"""
    from lstosa_snake.jobs.resources import measured_peaks, request_mb, under_requested
    MARGIN = 1.2
    peaks = measured_peaks([local_night.data_root / "running_analysis"])
    for rule in ("drs4_pedestal", "charge_calibration", "time_calibration", "r0_to_dl1", "dl1_datacheck",
                 "dl1_to_dl2", "merge_dl1", "merge_dl2", "run_datacheck", "night_datacheck"):
        assert peaks.get(rule, 0) > 50, f"no benchmark peak for {rule}: {peaks}"
    assert under_requested(peaks, margin=MARGIN) == {}, {r: (p, request_mb(r), p * MARGIN) for r, p in peaks.items()}
