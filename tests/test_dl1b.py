"""DL1b (docs/dl1b.md): tail-cut finder, Cat-B calibration, dl1ab and the models by NSB level.

The real-tool test processes a small DL1b-ready synthetic night (enough interleaved events) whose two
DATA runs differ in NSB and in gain: run 01874 is dark with the calibration run's gains, run 01875 has
more NSB and a planted gain drift in every other module (that Cat-A cannot see, Cat-B must). Its
models_dir holds LSTOSA-style nsb_tuning_X.XX productions, only the expected ones with usable models.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from e2e_fixtures import across_workers
from slurm_fixtures import REPO, clean_env, run_snakemake
from synthetic_fixtures import LST_BIN, LST_PYTHON, run_tool
from tiers import require_or_skip

from lstosa_snake.jobs.dl1b import choose_models, dl1_prod_id, models_shell_arg, nsb_level
from lstosa_snake.night.paths import NightPaths
from lstosa_snake.jobs.runner import tool_environment

DATE = "2020-01-27"
#: per DATA run: NSB p.e. per pixel and event, gain drift in odd modules
#: (the finder needs >= 100 interleaved pedestals in each of >= 2 sub-runs: a third of 300 events)
NIGHT_ARGS = ["--data-runs", "2", "--subruns", "2", "--events-per-subrun", "300", "--drs4-events", "500",
              "--cali-events", "600", "--interleaved-fraction", "0.3333", "--data-nsb-pe", "0.3", "3.0",
              "--data-gain-drift", "0", "0.1"]
DRIFT = {1874: 0.0, 1875: 0.1}
#: what the finder finds on this night (measured; the levels are lstchain's table)
EXPECTED = {1874: ("tailcut84", 0.00), 1875: ("tailcut1005", 0.38)}
MC_PROD = "20240918_v0.10.12_allsky_"


# ------------------------------------------------------------------------------- unit tests
def test_dl1_prod_id_is_lstosas_name():
    assert dl1_prod_id(8, 4) == "tailcut84"
    assert dl1_prod_id(10, 5) == "tailcut1005"
    assert dl1_prod_id(16, 8) == "tailcut1608"


@pytest.mark.parametrize("picture, nsb, level", [
    (8, -0.21, 0.00),  # darker than the finder's reference: LSTOSA stops, we take the darkest
    (8, 0.10, 0.07), (8, 0.30, 0.22), (10, 0.30, 0.38), (10, 0.47, 0.50), (12, 0.1, 0.81), (18, 5.0, 2.34),
])
def test_nsb_level_among_those_of_the_picture_threshold(picture, nsb, level):
    assert nsb_level(picture, nsb) == level


def test_models_by_nsb_then_declination(tmp_path):
    for nsb in ("0.00", "0.38", "0.81"):
        for dec in ("dec_2276", "dec_4822", "dec_min_413"):
            (tmp_path / f"{MC_PROD}nsb_tuning_{nsb}" / dec).mkdir(parents=True)
    (tmp_path / "README").write_text("not a production")
    assert choose_models(tmp_path, 0.38, 22.0, 1874) == tmp_path / f"{MC_PROD}nsb_tuning_0.38" / "dec_2276"
    assert choose_models(tmp_path, 0.50, 50.0, 1874) == tmp_path / f"{MC_PROD}nsb_tuning_0.38" / "dec_4822"
    assert choose_models(tmp_path, 0.0, -5.0, 1874) == tmp_path / f"{MC_PROD}nsb_tuning_0.00" / "dec_min_413"
    with pytest.raises(ValueError, match="no NSB level"):
        choose_models(tmp_path, None, 22.0, 1874)
    plain = tmp_path / "plain"
    plain.mkdir()
    assert choose_models(plain, None, None, 1874) == plain  # no productions: the directory itself


def test_models_subcommand_reads_the_runs_tail_cuts(tmp_path):
    for nsb in ("0.00", "0.38"):
        (tmp_path / "models" / f"{MC_PROD}nsb_tuning_{nsb}").mkdir(parents=True)
    summary = tmp_path / "tailcuts_Run01875.json"
    summary.write_text(json.dumps({"run": 1875, "nsb_level": 0.38, "dl1_prod_id": "tailcut1005"}))
    word = models_shell_arg(str(REPO / ".venv" / "bin" / "python"), summary, str(tmp_path / "models"), None)
    out = subprocess.run(["bash", "-c", f'set -e; {word}echo "$models"'], capture_output=True, text=True,
                         cwd=REPO / "src", check=True)
    assert out.stdout.strip() == str(tmp_path / "models" / f"{MC_PROD}nsb_tuning_0.38")
    # no NSB level (the standard cleaning, the finder could not run): the job stops, saying why
    summary.write_text(json.dumps({"run": 1875, "nsb_level": None, "dl1_prod_id": "tailcut84"}))
    out = subprocess.run(["bash", "-c", f'set -e; {word}echo "$models"'], capture_output=True, text=True,
                         cwd=REPO / "src")
    assert out.returncode != 0 and "no NSB level for run 1875" in out.stderr and out.stdout == ""


def test_paths_of_the_dl1b_products(tmp_path):
    p = NightPaths(tmp_path, tmp_path, __import__("datetime").date(2020, 1, 27), "v0.12", "v0.12.3")
    assert p.dl1b_in("tailcut84", 1874, 1) == tmp_path / "DL1/20200127/v0.12/tailcut84/dl1_LST-1.Run01874.0001.h5"
    assert p.tailcuts_summary(1874).parent == p.dl1ab_config(1874).parent == tmp_path / "DL1/20200127/v0.12/tailcuts"
    assert p.catB_calibration(1874) == (tmp_path / "monitoring/PixelCalibration/Cat-B/calibration/20200127/v0.12.3"
                                        / "cat_B_calibration_filters_52.Run01874.h5")
    assert p.pattern("dl1b_subrun").endswith("v0.12/dl1b/dl1_LST-1.Run{run}.{subrun}.h5")


def test_standard_cleaning_without_the_finder(tmp_path):
    """apply_standard_dl1b_config: the lstchain configuration's cleaning, no tool runs."""
    from lstosa_snake.jobs.dl1b import main

    out = tmp_path / "tailcuts"
    rc = main(["tailcuts", "--runner", "false", "--tools", "/nonexistent", "--log", str(tmp_path / "log"),
               "--run", "1874", "--dl1", str(tmp_path / "dl1_LST-1.Run01874.0000.h5"), "--standard",
               "--standard-config", str(REPO / "config" / "lstchain" / "lstchain_config.json"),
               "--config-out", str(out / "dl1ab_Run01874.json"), "--summary-out", str(out / "tailcuts_Run01874.json")])
    assert rc == 0
    summary = json.loads((out / "tailcuts_Run01874.json").read_text())
    assert (summary["dl1_prod_id"], summary["finder"], summary["reason"]) == ("tailcut84", False,
                                                                              "apply_standard_dl1b_config")
    assert summary["nsb_level"] is None
    config = json.loads((out / "dl1ab_Run01874.json").read_text())
    assert config["tailcuts_clean_with_pedestal_threshold"]["picture_thresh"] == 8
    assert "random_forest_energy_regressor_args" not in config  # only the cleaning sections
    assert "standard cleaning: apply_standard_dl1b_config" in (tmp_path / "log").read_text()


def test_synthetic_plan_has_what_dl1b_needs():
    import datetime as dt

    from lstosa_snake.synthetic.plan import make_plan

    plan = make_plan(dt.date(2020, 1, 27), events_per_subrun=400, interleaved_fraction=0.25,
                     data_nsb_pe=[0.3, 2.5], data_gain_drift=[0, 0.1], data_runs=3)
    data = [r for r in plan.runs if r.run_type == "DATA"]
    assert [(r.nsb_pe, r.gain_drift) for r in data] == [(0.3, 0.0), (2.5, 0.1), (2.5, 0.1)]  # last repeats
    for r in data:
        for sub in range(r.n_subruns):
            assert r.count_types(sub) == {"SKY_PEDESTAL": 100, "FLATFIELD": 100, "SUBARRAY": 200}
    default = make_plan(dt.date(2020, 1, 27))  # unchanged without the options
    assert all(r.nsb_pe is None and r.gain_drift == 0 and r.pedestal_fraction == 0.04
               for r in default.runs if r.run_type == "DATA")


def test_night_page_table_and_dl1ab_column(tmp_path):
    from lstosa_snake.web.datacheck import _add_dl1b
    from lstosa_snake.web.page import render_night_html

    config = {"date": DATE, "data_root": str(tmp_path), "prod_id": "v0.12", "calibration_version": "v0.12.3"}
    p = NightPaths(tmp_path, tmp_path, __import__("datetime").date(2020, 1, 27), "v0.12", "v0.12.3")
    p.tailcuts_summary(1874).parent.mkdir(parents=True)
    p.tailcuts_summary(1874).write_text(json.dumps({"run": 1874, "dl1_prod_id": "tailcut1005", "finder": True,
                                                    "nsb_pe_per_ns": 0.4123, "nsb_level": 0.38}))
    p.tailcuts_summary(1875).write_text(json.dumps({"run": 1875, "dl1_prod_id": "tailcut84", "finder": False,
                                                    "reason": "too few interleaved pedestals", "nsb_level": None}))
    p.catB_status(1875).parent.mkdir(parents=True)
    p.catB_status(1875).write_text(json.dumps({"run": 1875, "file": None, "reason": "too few interleaved events"}))
    p.dl1b_subrun(1874, 0).parent.mkdir(parents=True)
    p.dl1b_subrun(1874, 0).symlink_to("../tailcut1005/dl1_LST-1.Run01874.0000.h5")  # dangling: the name counts
    night = {"date": DATE, "sequences": [
        {"seq": 1, "type": "DATA", "run": 1874, "planned_subruns": 2, "stages": {"r0_to_dl1": 1.0}},
        {"seq": 2, "type": "DATA", "run": 1875, "planned_subruns": 1, "stages": {"r0_to_dl1": 1.0}}]}
    _add_dl1b(night, config, tmp_path)
    assert [s["stages"]["dl1ab"] for s in night["sequences"]] == [0.5, 0.0]  # LSTOSA's DL1AB% column
    assert night["dl1b"][0]["source"] == "tail-cut finder" and night["dl1b"][1]["catB"].startswith("none: too few")
    html = render_night_html(night)
    assert "tailcut1005" in html and "0.412" in html and "standard (too few interleaved pedestals)" in html
    assert ">dl1ab<" in html  # the sequences table's extra column and the DL1b table's
    bare = {"date": DATE, "sequences": [{"seq": 1, "type": "DATA", "run": 1876, "planned_subruns": 1, "stages": {}}]}
    _add_dl1b(bare, config, tmp_path)
    assert "dl1b" not in bare and bare["sequences"][0]["stages"] == {}  # no DL1b products: no table


# ----------------------------------------------------------------------------- real tools
def _py(code: str) -> str:
    """Run CODE in the tools' environment (numpy, tables), return its stdout (warnings go to stderr)."""
    proc = subprocess.run([str(LST_PYTHON), "-c", code], capture_output=True, text=True, timeout=600,
                          env=tool_environment())
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="session")
def dl1b_night(models_dir, tmp_path_factory):
    """The night processed up to DL2 per sub-run with DL1b and Cat-B on, models by NSB level."""
    if not (LST_BIN / "lstosa-make-night").exists():
        require_or_skip(f"lstchain tools not installed in {LST_BIN} (run scripts/setup.sh)", tier="tools")
    with across_workers(tmp_path_factory, "dl1b_night") as shared:
        data, work, models = shared / "data", shared / "work", shared / "models"
        done = shared / "done.json"
        if not done.exists():
            run_tool([LST_BIN / "lstosa-make-night", "--output", data, "--date", DATE, "--no-progress", *NIGHT_ARGS])
            # LSTOSA's models tree: only the productions the finder should pick hold usable models, a
            # wrong pick makes lstchain_dl1_to_dl2 fail
            for nsb in ("0.00", "0.14", "0.38", "0.50"):
                d = models / f"{MC_PROD}nsb_tuning_{nsb}"
                if nsb in {f"{lvl:.2f}" for _, lvl in EXPECTED.values()}:
                    d.parent.mkdir(parents=True, exist_ok=True)
                    d.symlink_to(models_dir)
                else:
                    d.mkdir(parents=True)
            work.mkdir(parents=True, exist_ok=True)
            targets = [str(NightPaths(data, data, __import__("datetime").date(2020, 1, 27), "v0.12", "v0.12.3")
                           .dl2_subrun(run, sub)) for run in DRIFT for sub in (0, 1)]
            targets += [str(NightPaths(data, data, __import__("datetime").date(2020, 1, 27), "v0.12", "v0.12.3")
                            .dl1_run(run)) for run in DRIFT]  # merged from the DL1b files
            res = run_snakemake(["--snakefile", REPO / "Snakefile", "--directory", work, "--cores", "2",
                                 "--config", f"date={DATE}", f"data_root={data}", f"models_dir={models}",
                                 "apply_catB_calibration=True", "catB_min_events=50", "--", *targets],
                                cwd=work, timeout=1800, env=clean_env())
            done.write_text(json.dumps({"returncode": res.returncode, "report": str(res)}))
        state = json.loads(done.read_text())
    assert state["returncode"] == 0, state["report"]
    return NightPaths(data, data, __import__("datetime").date(2020, 1, 27), "v0.12", "v0.12.3")


@pytest.mark.tools
@pytest.mark.e2e
def test_dl1ab_cleans_with_the_finders_levels(dl1b_night):
    p = dl1b_night
    for run, (prod, level) in EXPECTED.items():
        summary = json.loads(p.tailcuts_summary(run).read_text())
        finder = json.loads(p.dl1ab_config(run).read_text())["tailcuts_clean_with_pedestal_threshold"]
        assert summary["finder"] is True and summary["dl1_prod_id"] == prod, summary
        assert (summary["picture_thresh"], summary["boundary_thresh"]) == (finder["picture_thresh"],
                                                                            finder["boundary_thresh"])
        assert summary["nsb_level"] == level
        # lstchain's own log line is where the NSB came from
        log = p.tailcuts_summary(run).with_name(f"log_find_tailcuts_Run{run:05d}.log").read_text()
        assert f"Additional NSB rate (over dark MC): {summary['nsb_pe_per_ns']:.4f}" in log
        link = p.dl1b_subrun(run, 0)
        assert link.is_symlink() and link.resolve() == p.dl1b_in(prod, run, 0).resolve()
        # the configuration dl1ab wrote into its output: the finder's levels
        out = _py(
            "import tables, json; f = tables.open_file(%r); "
            "print(f.get_node('/dl1/event/telescope/parameters/LST_LSTCam').attrs['config'])" % str(link))
        used = json.loads(out.strip())["tailcuts_clean_with_pedestal_threshold"]  # lstchain stores it as JSON
        assert (used["picture_thresh"], used["boundary_thresh"]) == (finder["picture_thresh"], finder["boundary_thresh"])
    # higher picture threshold, fewer image pixels than in DL1a (cleaned at 8/4): the images were re-cleaned
    npix = json.loads(_py(
        "import tables, json, numpy as np\n"
        "a = tables.open_file(%r).get_node('/dl1/event/telescope/parameters/LST_LSTCam')\n"
        "b = tables.open_file(%r).get_node('/dl1/event/telescope/parameters/LST_LSTCam')\n"
        "m = a.col('event_type') == 32\n"
        "print(json.dumps([int(a.col('n_pixels')[m].sum()), int(b.col('n_pixels')[m].sum())]))"
        % (str(p.dl1_subrun(1875, 0)), str(p.dl1b_subrun(1875, 0)))))
    assert 0 < npix[1] < npix[0], npix


@pytest.mark.tools
@pytest.mark.e2e
def test_merged_dl1_is_the_dl1b_of_its_subruns(dl1b_night):
    """The run's merged DL1 holds the DL1b parameters (those its DL2 was made from), not DL1a's."""
    p = dl1b_night
    cols = json.loads(_py(
        "import tables, json, numpy as np\n"
        "col = lambda f: tables.open_file(f).get_node('/dl1/event/telescope/parameters/LST_LSTCam').col('n_pixels')\n"
        "print(json.dumps({k: [int(x) for x in np.concatenate([col(f) for f in fs])] for k, fs in %r.items()}))"
        % {"merged": [str(p.dl1_run(1875))], "dl1b": [str(p.dl1b_subrun(1875, s)) for s in (0, 1)],
           "dl1a": [str(p.dl1_subrun(1875, s)) for s in (0, 1)]}))
    assert len(cols["merged"]) == len(cols["dl1b"]) == 2 * 300
    assert cols["merged"] == cols["dl1b"]
    assert cols["merged"] != cols["dl1a"]  # run 01875 was re-cleaned at 10/5


@pytest.mark.tools
@pytest.mark.e2e
def test_catB_recovers_the_planted_gain_drift(dl1b_night):
    p = dl1b_night
    truth = p.data_root / "synthetic_truth" / "20200127" / "night.json"
    planted = {r["run"]: r["gain_drift"] for r in json.loads(truth.read_text())["runs"] if r["run_type"] == "DATA"}
    assert planted == DRIFT
    for run, drift in DRIFT.items():
        status = json.loads(p.catB_status(run).read_text())
        assert status["file"] == str(p.catB_calibration(run)) and status["statistics"] == 200, status  # all
        # dc_to_pe of the high gain: Cat-B's correction of the Cat-A calibrated charge, per pixel
        ratio = float(_py(
            "import numpy as np\n"
            "from ctapipe.io import read_table\n"
            "t = read_table(%r, '/tel_1/calibration')\n"
            "c = np.asarray(t['dc_to_pe'][0][0])\n"
            "odd = (np.arange(c.size) // 7) %% 2 == 1\n"
            "print(np.median(c[odd]) / np.median(c[~odd]))" % str(p.catB_calibration(run))))
        # odd modules' gain is (1 + drift) x what Cat-A calibrated: Cat-B multiplies them by 1 / (1 + drift)
        assert ratio == pytest.approx(1 / (1 + drift), abs=0.01), (run, ratio)
    # dl1ab applied it: the DL1b file carries the Cat-B calibration table
    tables_found = _py("import tables; f = tables.open_file(%r); print('/dl1/monitoring/telescope/catB/calibration' in f)"
                       % str(p.dl1b_subrun(1875, 0)))
    assert tables_found.strip() == "True"


@pytest.mark.tools
@pytest.mark.e2e
def test_dl2_used_the_models_of_the_runs_nsb(dl1b_night):
    p = dl1b_night
    for run, (_, level) in EXPECTED.items():
        assert p.dl2_subrun(run, 0).stat().st_size > 0
        log = p.log(f"dl1_to_dl2/dl1_to_dl2.Run{run:05d}.0000.log").read_text()
        assert f"{MC_PROD}nsb_tuning_{level:.2f}" in log, log[-2000:]
        other = {f"{lvl:.2f}" for _, lvl in EXPECTED.values()} - {f"{level:.2f}"}
        assert not any(f"nsb_tuning_{o}" in log for o in other)


@pytest.mark.tools
@pytest.mark.e2e
def test_night_page_rows(dl1b_night):
    from lstosa_snake.jobs.dl1b import night_rows
    from lstosa_snake.web.page import render_night_html

    rows = night_rows(dl1b_night, [{"run": run, "planned_subruns": 2} for run in DRIFT])
    assert [(r["run"], r["dl1_prod_id"], r["nsb_level"], r["dl1ab"]) for r in rows] == [
        (run, prod, level, 1.0) for run, (prod, level) in EXPECTED.items()]
    assert all(r["catB"].startswith("cat_B_calibration_filters_52.Run0187") for r in rows)
    html = render_night_html({"date": DATE, "dl1b": rows})
    assert "tailcut1005" in html and "tail-cut finder" in html and "0.38" in html
