"""lstosa-reprocess: two nights into a new production id, calibration reused, other productions untouched.

Runs the real workflow with FAKE lstchain tools (tests/data/fake_tools/fake_lst_tool.py, which
only write stand-in product files): this tests the operation layer, not science; the real tools
are covered by the end-to-end tests. Subprocesses are killed (process group, SIGKILL) on timeout.
"""

from __future__ import annotations

import datetime as dt

import pytest

from fake_tools import PROJECT, make_tools_bin, make_toy_night, run_with_timeout, toy_config_args
from lstosa_snake.ops.reprocess import night_list

REPROCESS = PROJECT / "scripts" / "lstosa-reprocess"
NIGHTLY = PROJECT / "scripts" / "lstosa-nightly"
NIGHTS = (dt.date(2020, 1, 27), dt.date(2020, 1, 28))


def test_night_list():
    assert night_list(start="2020-01-30", end="20200202") == [dt.date(2020, 1, 30), dt.date(2020, 1, 31),
                                                              dt.date(2020, 2, 1), dt.date(2020, 2, 2)]
    assert night_list(["2020-01-28", "2020-01-27", "2020-01-28"]) == list(NIGHTS)
    with pytest.raises(Exception, match="before"):
        night_list(start="2020-01-30", end="2020-01-29")


def calibration_files(data):
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in (data / "monitoring" / "PixelCalibration").rglob("*.h5")}


def test_reprocess_two_nights_into_new_prod_id(tmp_path):
    data = tmp_path / "data"
    make_toy_night(data, NIGHTS[0], {1874: 3})
    make_toy_night(data, NIGHTS[1], {1904: 2})
    tools = make_tools_bin(tmp_path / "tools")
    common = ["--data-root", str(data), "--cores", "2"]
    for item in toy_config_args(tmp_path, tools):
        common += ["--config", item]
    # the nightly production v0.12 processed the first night
    nightly = run_with_timeout([str(NIGHTLY), "--date", "2020-01-27", *common], 240)
    assert nightly.returncode == 0, nightly.stdout
    v01 = {p: p.stat().st_mtime_ns for p in (data / "DL1" / "20200127" / "v0.12").rglob("*")}
    calib = calibration_files(data)
    assert len(calib) == 3
    # reprocessing under the nightly's prod id is refused before anything runs
    refused = run_with_timeout([str(REPROCESS), "--prod-id", "v0.12", "--from", "2020-01-27", "--to", "2020-01-28",
                                *common], 60)
    assert refused.returncode == 2
    assert "REFUSED: night 2020-01-27: prod id v0.12 is the nightly production's" in refused.stdout
    assert not (data / "DL1" / "20200128").exists()
    # a new production: both nights, one after the other
    res = run_with_timeout([str(REPROCESS), "--prod-id", "v0.2", "--from", "2020-01-27", "--to", "2020-01-28",
                            "--jobs", "2", *common], 400)
    assert res.returncode == 0, res.stdout
    table = res.stdout[res.stdout.index("night  "):].splitlines()
    assert table[1].split()[:4] == ["2020-01-27", "closed", "0", "1"]
    assert table[2].split()[:4] == ["2020-01-28", "closed", "0", "1"]
    for date, run in (("20200127", "01874"), ("20200128", "01904")):
        assert (data / "DL2" / date / "v0.2" / f"dl2_LST-1.Run{run}.h5").is_file()
        assert (data / "running_analysis" / date / "v0.2" / "NightFinished.txt").is_file()
    # the existing calibration was reused (same inode and mtime), the second night got its own
    after = calibration_files(data)
    assert {p: after[p] for p in calib} == calib
    assert len(after) == 6
    assert {p: p.stat().st_mtime_ns for p in (data / "DL1" / "20200127" / "v0.12").rglob("*")} == v01
    calls = (tools / "CALLS").read_text().splitlines()
    assert sum(c.startswith("lstchain_create_drs4_pedestal_file LST-1.1.Run01872") for c in calls) == 1
    # the same production is resumed (here: nothing left to do)
    again = run_with_timeout([str(REPROCESS), "--prod-id", "v0.2", "--dates", "2020-01-27", "2020-01-28", *common], 120)
    assert again.returncode == 0, again.stdout
    assert again.stdout.count("already closed") == 2
    # the same prod id with other settings is another production: refused
    other = run_with_timeout([str(REPROCESS), "--prod-id", "v0.2", "--dates", "2020-01-28", *common,
                              "--config", "calibration_policy=last_of_night"], 60)
    assert other.returncode == 2 and "made with other settings (calibration_policy)" in other.stdout


def snapshot(root):
    """Every path below root with its size, mtime and content."""
    return {str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns, p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def test_reprocess_dry_run_shows_the_plan_and_writes_nothing(tmp_path):
    data = tmp_path / "data"
    make_toy_night(data, NIGHTS[0], {1874: 3})
    make_toy_night(data, NIGHTS[1], {1904: 2})
    tools = make_tools_bin(tmp_path / "tools")
    common = ["--data-root", str(data), "--cores", "2"]
    for item in toy_config_args(tmp_path, tools):
        common += ["--config", item]
    before = snapshot(tmp_path)
    for dry in (["--dry-run"], ["--snakemake-args", "-n"], ["--snakemake-args=--dry-run"]):
        res = run_with_timeout([str(REPROCESS), "--prod-id", "v0.2", "--from", "2020-01-27", "--to", "2020-01-28",
                                *common, *dry], 120)
        assert res.returncode == 0, res.stdout
        assert "lstosa-reprocess: dry run of 2 night(s): nothing is written" in res.stdout
        plans = [line.split(" lstosa-nightly: ", 1)[1] for line in res.stdout.splitlines() if "would run" in line]
        assert len(plans) == 2, res.stdout
        assert plans[0].startswith("dry run: night 2020-01-27 prod v0.2: would run ") and "r0_to_dl1 3" in plans[0]
        assert plans[1].startswith("dry run: night 2020-01-28 prod v0.2: would run ") and "r0_to_dl1 2" in plans[1]
        assert "Snakemake failed" not in res.stdout and "ERROR" not in res.stdout
        assert snapshot(tmp_path) == before  # no production directory, lock, log or record
