"""The night plan: configuration -> sequences, sub-runs, exclusions, missing raw data, paths."""

import datetime as dt

import pytest

from lstosa_snake.night.dates import parse_night_date
from lstosa_snake.core.errors import ConfigError, NightSummaryError, SequenceError
from lstosa_snake.night.plan import parse_exclusions, plan_night
from lstosa_snake.night.paths import NightPaths
from lstosa_snake.night.scale import SEED_SUBRUNS, subruns_for, write_seed_shaped_tree

NIGHT = dt.date(2020, 1, 27)


def config(tmp_path, **kw):
    c = {
        "date": "2020-01-27",
        "data_root": str(tmp_path / "data"),
        "output_root": None,
        "prod_id": "v0.12",
        "calibration_version": "v0.12.3",
        "calibration_policy": "closest_before",
        "calibration_lookback_nights": 4,
    }
    c.update(kw)
    return c


@pytest.mark.parametrize("text", ["2020-01-27", "20200127", 20200127, " 2020-01-27 "])
def test_dates_accepted(text):
    assert parse_night_date(text) == NIGHT


@pytest.mark.parametrize("text", ["27/01/2020", "2020-1-27", "../../etc", "/tmp/x", "2020-02-30", "", None, "2020-01-27/.."])
def test_dates_refused_in_one_line(text):
    with pytest.raises(ConfigError) as err:
        parse_night_date(text)
    assert "\n" not in str(err.value)


def test_paths_follow_lst_conventions(tmp_path):
    p = NightPaths(tmp_path, tmp_path / "out", NIGHT, "v0.12", "v0.12.3")
    assert p.r0(1874, 1, 3).name == "LST-1.3.Run01874.0001.fits.fz"
    assert p.r0(1874, 1).parent == tmp_path / "R0" / "20200127"
    assert p.dl1_subrun(1874, 1) == tmp_path / "out/DL1/20200127/v0.12/dl1_LST-1.Run01874.0001.h5"
    assert p.dl2_run(1874) == tmp_path / "out/DL2/20200127/v0.12/dl2_LST-1.Run01874.h5"
    assert p.datacheck_run_pdf(1874).name == "datacheck_dl1_LST-1.Run01874.pdf"
    assert p.drs4_pedestal(1872) == (
        tmp_path / "out/monitoring/PixelCalibration/Cat-A/drs4_baseline/20200127/v0.12.3/drs4_pedestal.Run01872.0000.h5"
    )
    assert p.charge_calibration(1873, dt.date(2020, 1, 25)).parts[-3] == "20200125"
    assert p.pattern("dl1_subrun").endswith("DL1/20200127/v0.12/dl1_LST-1.Run{run}.{subrun}.h5")
    assert p.pattern("time_calibration").endswith("time_calibration.Run{run}.0000.h5")
    assert p.night_datacheck.name == "DL1_datacheck_20200127.h5"


def test_lstosa_tree_paths(tmp_path):
    """Where LSTOSA (and the ecosystem's readers) keep the products that have a cleaning/NSB level."""
    p = NightPaths(tmp_path, tmp_path, NIGHT, "v0.12", "v0.12.3")
    dl1 = tmp_path / "DL1/20200127/v0.12"
    assert p.lstosa_dl1_run(1874, "tailcut84") == dl1 / "tailcut84/dl1_LST-1.Run01874.h5"
    assert p.lstosa_datacheck_subrun(1874, 3, "tailcut1005") == (
        dl1 / "tailcut1005/datacheck/datacheck_dl1_LST-1.Run01874.0003.h5")
    assert p.lstosa_datacheck_run_pdf(1874, "tailcut84") == dl1 / "tailcut84/datacheck/datacheck_dl1_LST-1.Run01874.pdf"
    assert p.lstosa_dl2_run(1874, "tailcut84", "nsb_tuning_0.14") == (
        tmp_path / "DL2/20200127/v0.12/tailcut84/nsb_tuning_0.14/dl2_LST-1.Run01874.h5")
    assert p.lstosa_night_finished == tmp_path / "OSA/Closer/20200127/v0.12/NightFinished.txt"
    assert p.datacheck_links_dir == tmp_path / "DL1/datacheck_files/20200127"
    assert p.longterm_link("log") == tmp_path / "DL1/datacheck_files/night_wise/DL1_datacheck_20200127.log"
    assert p.night_datacheck_file("log") == tmp_path / "DL1/datacheck_files/night_wise/v0.12/20200127/DL1_datacheck_20200127.log"
    assert p.catA_pro_link("drs4_baseline") == tmp_path / "monitoring/PixelCalibration/Cat-A/drs4_baseline/20200127/pro"
    assert p.lstosa_tailcuts_config(1874) == tmp_path / "auxiliary/TailCuts/dl1ab_Run01874.json"
    with pytest.raises(ConfigError, match="dl1_prod_id"):
        p.lstosa_dl1_run(1874, "../tailcut84")


def test_calibration_filters_name_the_calibration_files(tmp_path):
    p = NightPaths(tmp_path, tmp_path, NIGHT, "v0.12", "v0.12.3", 23)
    assert p.charge_calibration(1873).name == "calibration_filters_23.Run01873.0000.h5"
    assert p.catB_calibration(1874).name == "cat_B_calibration_filters_23.Run01874.h5"
    with pytest.raises(ConfigError, match="calibration_filters"):
        NightPaths(tmp_path, tmp_path, NIGHT, "v0.12", "v0.12.3", 123)


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "v1..2"])
def test_prod_id_cannot_escape(tmp_path, bad):
    with pytest.raises(ConfigError, match="prod_id"):
        NightPaths(tmp_path, tmp_path, NIGHT, bad, "v1")


def test_seed_shape():
    assert sum(SEED_SUBRUNS) == 1521 and min(SEED_SUBRUNS) == 74 and max(SEED_SUBRUNS) == 225
    assert sum(subruns_for(10_000)) == 10_000


def test_plan_seed_shaped_night(tmp_path):
    write_seed_shaped_tree(tmp_path / "data", NIGHT)
    plan = plan_night(config(tmp_path), tmp_path)
    assert len(plan.runs) == 8
    assert sum(len(r.subruns) for r in plan.runs.values()) == 1521
    assert plan.calibrations_tonight == {1873: 1872}
    files = plan.calibration_files(1874)
    assert files["drs4_pedestal"].name == "drs4_pedestal.Run01872.0000.h5"
    assert files["charge_calibration"].name == "calibration_filters_52.Run01873.0000.h5"


def test_exclusions_and_missing_raw(tmp_path):
    write_seed_shaped_tree(tmp_path / "data", NIGHT, total_subruns=300)
    (tmp_path / "data/R0/20200127/LST-1.3.Run01874.0005.fits.fz").unlink()
    plan = plan_night(
        config(tmp_path, exclude_runs=[1875], exclude_subruns=["01874.0003", "1874.7"]), tmp_path
    )
    assert 1875 not in plan.runs and plan.excluded_runs == [1875]
    rp = plan.runs[1874]
    assert rp.excluded == [3, 7]
    assert rp.missing_raw == [5]
    assert len(rp.subruns) == 194 - 3 and 3 not in rp.subruns and 5 not in rp.subruns


@pytest.mark.parametrize("bad", [{"exclude_subruns": ["1874"]}, {"exclude_runs": ["x"]}, {"exclude_subruns": ["1874.a"]}])
def test_bad_exclusions(bad):
    with pytest.raises(ConfigError):
        parse_exclusions(bad)


def test_borrowed_calibration_must_exist_on_disk(tmp_path):
    data = tmp_path / "data"
    ns = data / "monitoring/NightSummary/NightSummary_20200127.txt"
    ns.parent.mkdir(parents=True)
    ns.write_text("01880 2 DATA 2020-01-27 21:00:00 nan nan nan nan nan nan\n")
    with pytest.raises(SequenceError, match="within 4 nights"):
        plan_night(config(tmp_path), tmp_path)
    earlier = NightPaths(data, data, dt.date(2020, 1, 25), "v0.12", "v0.12.3")
    for f in (earlier.drs4_pedestal(1850, None), earlier.charge_calibration(1851), earlier.time_calibration(1851)):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"x")
    for s in (0, 1):
        for stream in (1, 2, 3, 4):
            p = data / f"R0/20200127/LST-1.{stream}.Run01880.{s:04d}.fits.fz"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.touch()
    plan = plan_night(config(tmp_path), tmp_path)
    cal = plan.runs[1880].calibration
    assert (cal.drs4_run, cal.cali_run, cal.date, cal.borrowed) == (1850, 1851, dt.date(2020, 1, 25), True)
    assert plan.calibrations_tonight == {}
    assert plan.calibration_files(1880)["time_calibration"] == earlier.time_calibration(1851)
    # an empty (truncated) file does not count as calibration that really holds
    earlier.time_calibration(1851).write_bytes(b"")
    with pytest.raises(SequenceError):
        plan_night(config(tmp_path), tmp_path)


def test_missing_summary_and_override(tmp_path):
    with pytest.raises(ConfigError, match="no night summary for 2020-01-27"):
        plan_night(config(tmp_path), tmp_path)
    other = tmp_path / "elsewhere.txt"
    other.write_text("01874 1 DATA 2020-01-30 20:00:00 nan nan nan nan nan nan\n")
    with pytest.raises(NightSummaryError, match="elsewhere.txt:1: no usable run line: run 01874: starts on 2020-01-30"):
        plan_night(config(tmp_path, night_summary=str(other)), tmp_path)


def test_big_synthetic_nights_stay_within_the_night():
    from lstosa_snake.night.scale import seed_shaped_night

    s = seed_shaped_night(NIGHT, 10_000)
    assert max(r.start for r in s.runs).date() <= NIGHT + dt.timedelta(days=1)
    assert sum(r.n_subruns for r in s.runs if r.run_type == "DATA") == 10_000
