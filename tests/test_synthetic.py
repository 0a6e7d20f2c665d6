"""The synthetic LST-1 night generator (lstosa-make-night) and the truth recovery of the
real lstchain chain on it.

Unmarked tests need only the standard library (the plan module is pure Python); tests
marked ``tools`` run the generator and the lstchain tools of ``.venv-lst`` via
subprocesses (see tests/synthetic_fixtures.py).
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import re
import subprocess
import sys
import textwrap

import pytest

from lstosa_snake.synthetic.plan import make_plan
from synthetic_fixtures import LST_PYTHON, SMALL_NIGHT, make_night, run_tool

# --- pure-Python: the night plan --------------------------------------------------------


def test_plan_default_night():
    plan = make_plan(dt.date(2020, 1, 27))
    assert [r.run for r in plan.runs] == [1872, 1873, 1874, 1875]
    assert [r.run_type for r in plan.runs] == ["DRS4", "CALI", "DATA", "DATA"]
    assert [r.n_subruns for r in plan.runs] == [1, 1, 2, 2]
    evening = dt.datetime(2020, 1, 27, 20, 0, tzinfo=dt.timezone.utc).timestamp()
    starts = [r.start_unix for r in plan.runs]
    assert starts == sorted(starts) and starts[0] > evening
    assert starts[-1] < evening + 4 * 3600


def test_plan_event_types():
    plan = make_plan(dt.date(2020, 1, 27), events_per_subrun=200, drs4_events=500, cali_events=1000)
    drs4, cali, data = plan.runs[0], plan.runs[1], plan.runs[2]
    # lstchain's run-type guess: DRS4 = >99.9 % "physics", PEDCALIB = >10 % pedestals, DATA < 10 %
    assert drs4.count_types(0) == {"SUBARRAY": 500}
    c = cali.count_types(0)
    assert c["SKY_PEDESTAL"] / 1000 > 0.1 and c["FLATFIELD"] + c["SKY_PEDESTAL"] == 1000
    for subrun in range(data.n_subruns):
        d = data.count_types(subrun)
        assert sum(d.values()) == 200
        assert 0 < d["SKY_PEDESTAL"] / 200 < 0.1 and 0 < d["FLATFIELD"] / 200 < 0.1
    # event ids continue across sub-runs
    assert data.subrun_event_ids(0)[-1] + 1 == data.subrun_event_ids(1)[0]


def test_plan_rejects_too_small_drs4_run():
    with pytest.raises(ValueError, match="500"):
        make_plan(dt.date(2020, 1, 27), drs4_events=100)


def test_cli_help():
    # the CLI parses arguments before importing numpy, so --help works in any environment
    out = subprocess.run([sys.executable, "-m", "lstosa_snake.synthetic.cli", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for opt in ("--date", "--output", "--seed", "--data-runs", "--subruns", "--events-per-subrun",
                "--drs4-events", "--cali-events", "--first-run", "--no-night-summary", "--progress"):
        assert opt in out


# --- generated files ----------------------------------------------------------------------


@pytest.mark.tools
def test_layout(synthetic_night):
    n = synthetic_night
    plan = n.plan
    assert plan["date"] == SMALL_NIGHT["date"] and plan["seed"] == SMALL_NIGHT["seed"]
    expected = {
        f"LST-1.{s}.Run{r['run']:05d}.{sub:04d}.fits.fz"
        for r in plan["runs"] for sub in range(r["n_subruns"]) for s in range(1, 5)
    }
    assert {p.name for p in n.r0.iterdir()} == expected  # nothing else in R0
    for r in plan["runs"]:
        for sub in range(r["n_subruns"]):
            assert (n.truth / f"truth_LST-1.Run{r['run']:05d}.{sub:04d}.csv").is_file()
    assert plan["flatfield_pe"] == 80.0
    assert 80 < plan["electronics"]["gain_hg_mean_adc_per_pe"] < 92


@pytest.mark.tools
def test_night_summary(synthetic_night):
    n = synthetic_night
    lines = (n.root / "monitoring" / "NightSummary" / f"NightSummary_{n.yyyymmdd}.txt").read_text().splitlines()
    pattern = re.compile(
        r"^(\d{5}) +(\d+) (DRS4|CALI|DATA)  (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\d{4}) (\d{19}) (\d+) (\d{4}) (\d{19}) (\d+)$"
    )
    plan = n.plan
    assert len(lines) == len(plan["runs"])
    for line, run in zip(lines, plan["runs"]):
        m = pattern.match(line)
        assert m, line
        assert int(m[1]) == run["run"] and int(m[2]) == run["n_subruns"] and m[3] == run["run_type"]
        start = dt.datetime.strptime(m[4], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
        assert start.timestamp() == int(run["start_unix"])
        ucts_unix = int(m[6]) / 1e9 - 37  # TAI -> UTC
        assert 0 < ucts_unix - run["start_unix"] < 5  # first event shortly after run start
        assert m[6] == m[9]


@pytest.mark.tools
def test_drive_log_covers_all_runs(synthetic_night):
    n = synthetic_night
    rows = [line.split() for line in
            (n.root / "monitoring" / "DrivePositioning" / f"DrivePosition_log_{n.yyyymmdd}.txt").read_text().splitlines()]
    t = [int(r[0]) for r in rows]
    assert t == sorted(t) and all(len(r) == 3 for r in rows)
    for run in n.plan["runs"]:
        assert t[0] < run["start_unix"] and run["last_event_unix"] < t[-1]
    for run in n.runs("DATA"):
        zen = [float(r[2]) for r in rows if run["start_unix"] <= int(r[0]) <= run["last_event_unix"]]
        assert zen and all(5 < z < 70 for z in zen)


def _inspect(r0_dir):
    out = run_tool([LST_PYTHON, "-m", "lstosa_snake.synthetic.inspect_r0", r0_dir]).stdout
    return json.loads(out[out.index("{"):])


@pytest.mark.tools
def test_r0_files_open_with_lsteventsource(synthetic_night):
    n = synthetic_night
    summary = _inspect(n.r0)
    plan = n.plan
    assert set(summary) == {f"Run{r['run']:05d}.{s:04d}" for r in plan["runs"] for s in range(r["n_subruns"])}
    for run in plan["runs"]:
        for sub in range(run["n_subruns"]):
            s = summary[f"Run{run['run']:05d}.{sub:04d}"]
            assert s["run"] == run["run"]
            assert s["n_events"] == run["events_per_subrun"]
            assert s["event_types"] == run["events_per_subrun_per_type"][sub]
            first = sub * run["events_per_subrun"] + 1
            assert s["event_ids"] == [first, first + run["events_per_subrun"] - 1]
            assert s["ids_sorted_unique"]
            assert s["time_range_unix"][0] > run["start_unix"]
            # gain selection by the event builder for physics events of DATA runs only
            n_phys = s["event_types"].get("SUBARRAY", 0)
            if run["run_type"] == "DATA":
                assert s["n_gains"] == {"1": n_phys, "2": run["events_per_subrun"] - n_phys}
            else:
                assert s["n_gains"] == {"2": run["events_per_subrun"]}
        with open(n.truth / f"truth_LST-1.Run{run['run']:05d}.0000.csv") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == run["events_per_subrun"]


@pytest.mark.tools
def test_deterministic(tmp_path):
    small = dict(data_runs=1, subruns=1, events_per_subrun=24, drs4_events=500, cali_events=20)
    a = make_night(tmp_path / "a", **small)
    b = make_night(tmp_path / "b", **small)
    c = make_night(tmp_path / "c", **{**small, "seed": SMALL_NIGHT["seed"] + 1})
    ya = _inspect(a / "R0" / "20200127")
    yb = _inspect(b / "R0" / "20200127")
    yc = _inspect(c / "R0" / "20200127")
    for key in ya:
        assert ya[key]["content_sha256"] == yb[key]["content_sha256"]
        assert ya[key]["content_sha256"] != yc[key]["content_sha256"]
    for f in ("synthetic_truth/20200127/truth_LST-1.Run02003.0000.csv",
              "monitoring/NightSummary/NightSummary_20200127.txt",
              "monitoring/DrivePositioning/DrivePosition_log_20200127.txt"):
        assert (a / f).read_text() == (b / f).read_text()


@pytest.mark.tools
def test_run_summary_classifies_runs(calibrated_night):
    n = calibrated_night
    text = n.paths["run_summary"].read_text()
    rows = [line.split(",") for line in text.splitlines() if not line.startswith("#")]
    header, rows = rows[0], rows[1:]
    got = {int(r[header.index("run_id")]): (r[header.index("run_type")], int(r[header.index("n_subruns")])) for r in rows}
    expected = {r["run"]: (r["lstchain_run_type"], r["n_subruns"]) for r in n.plan["runs"]}
    assert got == expected


# --- truth recovery through the real chain -------------------------------------------

RECOVERY_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, pandas as pd
    from ctapipe.io import read_table
    dl1_dir, truth_dir, calib, runs = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    out = {}
    t = read_table(calib, "/tel_1/calibration")
    out["ff_npe_median"] = [float(np.nanmedian(t["n_pe"][0][g])) for g in range(2)]
    out["unusable_pixels"] = int(np.sum(t["unusable_pixels"][0]))
    frames = []
    for tag in runs:
        d = pd.read_hdf(f"{dl1_dir}/dl1_LST-1.Run{tag}.h5", "dl1/event/telescope/parameters/LST_LSTCam")
        tr = pd.read_csv(f"{truth_dir}/truth_LST-1.Run{tag}.csv")
        out.setdefault("dl1_event_types", {})[tag] = {str(k): int(v) for k, v in d.event_type.value_counts().items()}
        out.setdefault("truth_event_types", {})[tag] = {str(k): int(v) for k, v in tr.event_type.value_counts().items()}
        frames.append(d.merge(tr, on="event_id", suffixes=("", "_true")))
    m = pd.concat(frames)
    s = m[(m.event_type_true == 32) & np.isfinite(m.intensity)]
    focal = 28.0
    bright = s[s.true_intensity_pe > 1000]
    out["n_showers"] = int((m.event_type_true == 32).sum())
    out["n_showers_with_dl1"] = len(s)
    out["n_bright"] = len(bright)
    out["intensity_ratio_median_bright"] = float((bright.intensity / bright.true_intensity_pe).median())
    out["intensity_ratio_median_all"] = float((s.intensity / s.true_intensity_pe).median())
    dist = np.hypot(s.x - s.true_x_m, s.y - s.true_y_m)
    out["centroid_dist_median_m"] = float(dist.median())
    out["centroid_dist_median_bright_m"] = float(np.hypot(bright.x - bright.true_x_m, bright.y - bright.true_y_m).median())
    out["width_ratio_median_bright"] = float(
        (bright.width / np.rad2deg(np.arctan(bright.true_width_m / focal))).median())
    out["length_ratio_median_bright"] = float(
        (bright.length / np.rad2deg(np.arctan(bright.true_length_m / focal))).median())
    dpsi = (np.rad2deg(bright.psi) - bright.true_psi_deg + 90) % 180 - 90
    out["psi_absdiff_median_bright_deg"] = float(np.abs(dpsi).median())
    out["pointing_zenith_deg"] = [float(90 - np.rad2deg(m.alt_tel.max())), float(90 - np.rad2deg(m.alt_tel.min()))]
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def recovery(calibrated_night):
    n = calibrated_night
    tags = [f"{r['run']:05d}.{s:04d}" for r in n.runs("DATA") for s in range(r["n_subruns"])]
    # the end-to-end night leaves one sub-run out by configuration
    tags = [t for t in tags if (n.paths["dl1_dir"] / f"dl1_LST-1.Run{t}.h5").exists()]
    out = run_tool([LST_PYTHON, "-c", RECOVERY_SCRIPT, n.paths["dl1_dir"], n.truth, n.paths["calibration"],
                    json.dumps(tags)]).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.tools
def test_charge_calibration_recovers_flatfield_level(calibrated_night, recovery):
    planted = calibrated_night.plan["flatfield_pe"]
    # F-factor method with the planted F^2 = 1.222: both gains within 5 %
    for npe in recovery["ff_npe_median"]:
        assert npe == pytest.approx(planted, rel=0.05)
    assert recovery["unusable_pixels"] == 0


@pytest.mark.tools
def test_dl1_event_types_match_truth(recovery):
    assert recovery["dl1_event_types"] == recovery["truth_event_types"]


@pytest.mark.tools
def test_dl1_recovers_planted_showers(recovery):
    r = recovery
    # most showers survive the standard tail-cut cleaning (faint ones < ~150 p.e. may not)
    assert r["n_showers_with_dl1"] >= 0.6 * r["n_showers"]
    assert r["n_bright"] >= 5
    # Tolerances. Intensity: the 8-sample window and calib_scale_high_gain=1.088 of the
    # standard config vs. the full planted charge, minus cleaning losses -> within 15 % for
    # showers > 1000 p.e. (measured 0.96); all showers lose more to cleaning (measured 0.8).
    assert 0.85 < r["intensity_ratio_median_bright"] < 1.15
    assert 0.6 < r["intensity_ratio_median_all"] < 1.1
    # centroid: median offset < 1.5 cm (pixel size 5 cm; measured ~0.7 cm), bright < 1 cm
    assert r["centroid_dist_median_m"] < 0.015
    assert r["centroid_dist_median_bright_m"] < 0.01
    # width/length (DL1 in deg, truth in m at 28 m focal length): cleaning trims tails
    assert 0.8 < r["width_ratio_median_bright"] < 1.2
    assert 0.8 < r["length_ratio_median_bright"] < 1.2
    assert r["psi_absdiff_median_bright_deg"] < 5
    # pointing from the drive log (tracking the Crab in the evening of 2020-01-27)
    assert 5 < r["pointing_zenith_deg"][0] <= r["pointing_zenith_deg"][1] < 70


# --- RF models and dl1_to_dl2 -------------------------------------------------------------


@pytest.mark.tools
def test_models_and_dl1_to_dl2(calibrated_night, models_dir, tmp_path):
    from synthetic_fixtures import CONFIG_DIR, lst_tool

    n = calibrated_night
    models = models_dir  # trained (or reused) by lstosa-make-models in the e2e fixture
    cmd = [lst_tool("lstosa-make-models"), "--output-dir", models, "--config", CONFIG_DIR / "lstchain_config.json"]
    for f in ("reg_energy.sav", "reg_disp_norm.sav", "cls_disp_sign.sav", "cls_gh.sav", "training_dirs.ecsv",
              "lstosa_models_stamp.json"):
        assert (models / f).is_file(), f
    assert "models up to date" in run_tool(cmd).stdout  # cached: same inputs, nothing retrained

    run = n.runs("DATA")[0]
    dl1 = n.paths["dl1_dir"] / f"dl1_LST-1.Run{run['run']:05d}.0000.h5"
    run_tool([lst_tool("lstchain_dl1_to_dl2"), "-f", dl1, "-p", models, "-o", tmp_path / "dl2",
              "-c", CONFIG_DIR / "lstchain_config.json"], log=tmp_path / "dl2.log")
    dl2 = tmp_path / "dl2" / dl1.name.replace("dl1", "dl2", 1)
    out = run_tool([LST_PYTHON, "-c", textwrap.dedent(f"""
        import pandas as pd, numpy as np
        d = pd.read_hdf("{dl2}", "dl2/event/telescope/parameters/LST_LSTCam")
        ok = d[np.isfinite(d.gammaness)]
        print(len(d), len(ok), int(ok.gammaness.between(0, 1).all()), int((ok.reco_energy > 0).all()))
    """)]).stdout.split()
    n_events, n_ok, gammaness_ok, energy_ok = map(int, out[-4:])
    assert n_ok > 0.5 * n_events and gammaness_ok and energy_ok


@pytest.mark.tools
def test_lstchain_config_differs_from_standard_only_in_documented_keys():
    from synthetic_fixtures import CONFIG_DIR

    out = run_tool([LST_PYTHON, "-c", textwrap.dedent(f"""
        import json
        from lstchain.io.config import get_standard_config
        std, ours = get_standard_config(), json.load(open("{CONFIG_DIR / 'lstchain_config.json'}"))
        diff = sorted(
            f"{{k}}.{{kk}}" for k in std for kk in (std[k] if isinstance(std[k], dict) else [None])
            if (ours.get(k) if kk is None else ours.get(k, {{}}).get(kk)) != (std[k] if kk is None else std[k][kk])
        )
        print(json.dumps(sorted(set(ours) - set(std))), json.dumps(diff))
    """)]).stdout.strip().splitlines()[-1]
    extra, diff = out.split(" ", 1)
    assert json.loads(extra) == []
    rf = ["random_forest_disp_classifier_args", "random_forest_disp_regressor_args",
          "random_forest_energy_regressor_args", "random_forest_particle_classifier_args"]
    assert json.loads(diff) == sorted(f"{k}.{p}" for k in rf for p in ("max_depth", "n_estimators", "n_jobs"))
