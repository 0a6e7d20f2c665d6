"""Looked-up time calibration and F-factor systematics files, on LSTOSA's own fixture layout
(lstosa src/osa/conftest.py: drs4_time_calibration_files, systematic_correction_files)."""

import datetime as dt
from pathlib import Path

import pytest

from lstosa_snake.night.calibration_lookup import (
    CalibrationLookup,
    CalibrationLookupError,
    find_ffactor_systematics,
    find_time_calibration,
)
from lstosa_snake.core.errors import ConfigError
from lstosa_snake.night.paths import NightPaths

NIGHT = dt.date(2020, 1, 17)  # LSTOSA's test night; its PEDCALIB run is 1809


@pytest.fixture
def data_root(tmp_path):
    cat_a = tmp_path / "monitoring" / "PixelCalibration" / "Cat-A"
    for date, run in (("20191124", 1625), ("20210321", 4211), ("20210902", 5979)):
        d = cat_a / "drs4_time_sampling_from_FF" / date / "pro"
        d.mkdir(parents=True)
        (d / f"time_calibration.Run{run:05d}.0000.h5").touch()
    for date in ("20200725", "20201110"):
        d = cat_a / "ffactor_systematics" / date / "pro"
        d.mkdir(parents=True)
        (d / f"ffactor_systematics_{date}.h5").touch()
    return tmp_path


def paths(root, night=NIGHT):
    return NightPaths(root, root / "out", night, "v0.12", "v0.12.3")


def time_dir(root):
    return root / "monitoring/PixelCalibration/Cat-A/drs4_time_sampling_from_FF"


def sys_dir(root):
    return root / "monitoring/PixelCalibration/Cat-A/ffactor_systematics"


@pytest.mark.parametrize("pedcal, night, expected", [
    (1809, NIGHT, "20191124/pro/time_calibration.Run01625.0000.h5"),  # LSTOSA's test expectation
    (1625, None, "20191124/pro/time_calibration.Run01625.0000.h5"),   # "at or before": equal run
    (4211, None, "20210321/pro/time_calibration.Run04211.0000.h5"),
    (5000, dt.date(2021, 6, 1), "20210321/pro/time_calibration.Run04211.0000.h5"),
    (9999, None, "20210902/pro/time_calibration.Run05979.0000.h5"),
])
def test_time_calibration_latest_at_or_before_pedcal_run(data_root, pedcal, night, expected):
    assert find_time_calibration(time_dir(data_root), pedcal, "pro", not_after=night) == time_dir(data_root) / expected


def test_time_calibration_before_first_file_names_run_and_directory(data_root):
    with pytest.raises(CalibrationLookupError) as err:
        find_time_calibration(time_dir(data_root), 1500)
    assert "01500" in str(err.value) and str(time_dir(data_root)) in str(err.value)


def test_time_calibration_other_version_and_missing_tree(data_root, tmp_path):
    (time_dir(data_root) / "20210321" / "v0.9").mkdir()
    (time_dir(data_root) / "20210321" / "v0.9" / "time_calibration.Run04000.0000.h5").touch()
    assert find_time_calibration(time_dir(data_root), 4100, "v0.9").name == "time_calibration.Run04000.0000.h5"
    # a "pro" file of a later run is not taken for an earlier PEDCALIB run
    assert find_time_calibration(time_dir(data_root), 4100, "pro").name == "time_calibration.Run01625.0000.h5"
    with pytest.raises(CalibrationLookupError, match="nowhere"):
        find_time_calibration(tmp_path / "nowhere", 1809)


@pytest.mark.parametrize("night, expected", [
    (NIGHT, "20200725"),                 # all files later: the oldest (LSTOSA test_jobs expects it)
    (dt.date(2020, 7, 25), "20200725"),  # same date
    (dt.date(2020, 11, 9), "20200725"),
    (dt.date(2020, 11, 10), "20201110"),
    (dt.date(2023, 1, 1), "20201110"),
])
def test_systematics_latest_at_or_before_night(data_root, night, expected):
    found = find_ffactor_systematics(sys_dir(data_root), night, "pro")
    assert found == sys_dir(data_root) / expected / "pro" / f"ffactor_systematics_{expected}.h5"


def test_systematics_dir_without_file_is_ignored_and_none_is_an_error(data_root, tmp_path):
    (sys_dir(data_root) / "20201201" / "pro").mkdir(parents=True)  # no file inside
    assert find_ffactor_systematics(sys_dir(data_root), dt.date(2021, 1, 1)).parent.parent.name == "20201110"
    with pytest.raises(CalibrationLookupError, match="ffactor_systematics"):
        find_ffactor_systematics(tmp_path / "empty", NIGHT)


def test_lookup_from_config_default_is_none(data_root):
    assert CalibrationLookup.from_config({}, paths(data_root), data_root) is None
    assert CalibrationLookup.from_config({"time_calibration": "compute", "ffactor_systematics": None},
                                         paths(data_root), data_root) is None


def test_lookup_files_for_a_run(data_root):
    lookup = CalibrationLookup.from_config(
        {"time_calibration": "lookup", "ffactor_systematics": "lookup"}, paths(data_root), data_root)
    files = lookup.files(1809, NIGHT)
    assert files == {
        "time_calibration": time_dir(data_root) / "20191124/pro/time_calibration.Run01625.0000.h5",
        "ffactor_systematics": sys_dir(data_root) / "20200725/pro/ffactor_systematics_20200725.h5",
    }
    only_sys = CalibrationLookup.from_config({"ffactor_systematics": "lookup"}, paths(data_root), data_root)
    assert set(only_sys.files(1809, NIGHT)) == {"ffactor_systematics"}


def test_explicit_systematics_file_relative_to_project(data_root, tmp_path):
    f = tmp_path / "my_sys.h5"
    f.touch()
    lookup = CalibrationLookup.from_config({"ffactor_systematics": "my_sys.h5"}, paths(data_root), tmp_path)
    assert lookup.files(1809) == {"ffactor_systematics": f}
    with pytest.raises(ConfigError, match="missing.h5 is not a file"):
        CalibrationLookup.from_config({"ffactor_systematics": "missing.h5"}, paths(data_root), tmp_path)


def test_bad_mode_and_version_refused(data_root):
    with pytest.raises(ConfigError, match="time_calibration"):
        CalibrationLookup.from_config({"time_calibration": "guess"}, paths(data_root), data_root)
    with pytest.raises(ConfigError, match="calibration_lookup_version"):
        CalibrationLookup.from_config({"time_calibration": "lookup", "calibration_lookup_version": "../x"},
                                      paths(data_root), data_root)


def test_lookup_dir_is_below_data_root(data_root):
    p = paths(data_root)
    assert p.catA_lookup_dir("ffactor_systematics") == sys_dir(data_root)
    assert Path(p.output_root) != Path(p.data_root)
