"""lstosa-status: numbers match the files on disk of a partially processed seed-shaped night.

No Snakemake here: the seed-shaped tree (1,521 sub-runs, empty R0 stand-ins) gets a chosen subset
of product files, failure markers and benchmark files touched by the test itself.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest

from lstosa_snake.night.plan import night_paths
from lstosa_snake.night.scale import write_seed_shaped_tree
from lstosa_snake.status.overview import night_status
from lstosa_snake.web.page import render_night_page

from fake_tools import PROJECT

NIGHT = dt.date(2020, 1, 27)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("status")
    write_seed_shaped_tree(tmp / "data", NIGHT, 1521)
    config = {"date": "2020-01-27", "data_root": str(tmp / "data"), "output_root": None, "prod_id": "v0.12",
              "calibration_version": "v0.12.3", "exclude_subruns": ["01876.0000", "01876.0001"]}
    p = night_paths(config, PROJECT)
    # run 01874 (194 sub-runs): DL1 0-99, datacheck 0-49, DL2 0-9; run 01875 (225): everything, merged
    for s in range(100):
        touch(p.dl1_subrun(1874, s))
    for s in range(50):
        touch(p.datacheck_subrun(1874, s))
    for s in range(10):
        touch(p.dl2_subrun(1874, s))
    for s in range(225):
        for f in (p.dl1_subrun, p.datacheck_subrun, p.dl2_subrun):
            touch(f(1875, s))
    for f in (p.dl1_run, p.dl2_run, p.muons_run, p.datacheck_run_pdf):
        touch(f(1875))
    touch(p.drs4_pedestal(1872))
    touch(p.charge_calibration(1873))
    failures = p.running_dir / "failures"
    failures.mkdir(parents=True)
    (failures / "r0_to_dl1_run_01874_sub-run_0150.txt").write_text("r0_to_dl1 run 01874 sub-run 0150 failed (exit 1): boom\n")
    (failures / "dl1_to_dl2_run_01874_sub-run_0007.txt").write_text("dl1_to_dl2 failed: no model\n")
    (failures / "merge_dl1_run_01877.txt").write_text("merge_dl1 run 01877 failed (exit 1): disk full\n")
    bench = p.running_dir / "benchmarks" / "r0_to_dl1"
    bench.mkdir(parents=True)
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    # 10.1 + 20.2 is 30.299999999999997 in floating point: the status must show 30.3
    for s, (wall, cpu) in enumerate([(10.1, 9.0), (20.2, 18.5)]):
        (bench / f"r0_to_dl1.Run01874.{s:04d}.tsv").write_text(header + f"{wall}\t0:00:10\t1\t1\t1\t1\t0\t0\t90\t{cpu}\n")
    return config, p


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")


def test_status_numbers_match_the_files(night):
    config, p = night
    st = night_status(config, PROJECT)
    assert st["date"] == "2020-01-27" and st["closed"] is False
    seqs = {s["run"]: s for s in st["sequences"]}
    # the DRS4 run has its own row; the CALI row counts the CALI run's two files (charge made, time not)
    assert seqs[1872]["type"] == "DRS4" and seqs[1872]["stages"]["calibration"] == 1.0
    assert seqs[1873]["type"] == "CALI" and seqs[1873]["stages"]["calibration"] == 0.5
    r74 = seqs[1874]
    assert r74["planned_subruns"] == 194
    assert r74["done"] == {"r0_to_dl1": 100, "datacheck": 50, "dl1_to_dl2": 10}
    assert r74["stages"]["r0_to_dl1"] == 0.5155  # 100 / 194, to four decimals
    assert r74["stages"]["merge"] == 0.0
    assert r74["failed_subruns"] == [7, 150]
    assert r74["failed_stages"] == {"7": ["dl1_to_dl2"], "150": ["r0_to_dl1"]}
    assert r74["cpu_s"] == 27.5 and r74["wall_s"] == 30.3
    assert r74["calibration"] == "DRS4 01872 + CALI 01873 (2020-01-27)"
    r75 = seqs[1875]
    assert r75["stages"] == {"r0_to_dl1": 1.0, "datacheck": 1.0, "dl1_to_dl2": 1.0, "merge": 1.0}
    assert r75["failed_subruns"] == [] and r75["cpu_s"] is None
    r76 = seqs[1876]
    assert r76["excluded_subruns"] == [0, 1] and r76["planned_subruns"] == 72
    assert r76["stages"]["r0_to_dl1"] == 0.0
    assert any("merge_dl1 failed for run 01877: merge_dl1 run 01877 failed (exit 1): disk full" == x
               for x in st["problems"])
    assert len(st["problems"]) == 3


def test_closed_flag_and_closed_without(night, tmp_path):
    config, p = night
    (p.running_dir / "failure_policy.json").write_text(json.dumps({"failed_subruns": ["01874.0150"]}))
    try:
        st = night_status(config, PROJECT)
        r74 = {s["run"]: s for s in st["sequences"]}[1874]
        assert r74["closed_without"] == [150] and r74["planned_subruns"] == 194
        assert 150 in r74["failed_subruns"]
    finally:
        (p.running_dir / "failure_policy.json").unlink()


def test_status_feeds_the_night_page(night, tmp_path):
    config, _ = night
    page = render_night_page(night_status(config, PROJECT), tmp_path / "20200127")
    html = page.read_text()
    assert "01874" in html and "01881" in html
    assert "52 %" in html  # 100 of 194 sub-runs through r0_to_dl1
    assert "disk full" in html


def test_cli_json_and_table(night):
    # its time on a large night: benchmarks/status_bench.py
    config, _ = night
    cmd = [str(PROJECT / ".venv/bin/lstosa-status"), "--date", "20200127", "--data-root", config["data_root"]]
    out = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {s["run"]: s["done"]["r0_to_dl1"] for s in data["sequences"] if s["type"] == "DATA"}[1874] == 100
    table = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
    line = next(l for l in table.splitlines() if " 01874 " in l)
    assert "52%" in line and "26%" in line and "5%" in line and "7,150" in line
    assert "Problems (3):" in table


def test_bad_date_is_one_line():
    out = subprocess.run([str(PROJECT / ".venv/bin/lstosa-status"), "--date", "2020-13-40"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "calendar date" in out.stderr


def _floats(value):
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _floats(v)
    elif isinstance(value, list):
        for v in value:
            yield from _floats(v)


def test_json_one_shape_rounded_and_a_drs4_row(night):
    config, p = night
    st = json.loads(json.dumps(night_status(config, PROJECT)))
    cal_rows = [(s["type"], s["run"], s["seq"]) for s in st["sequences"] if s["type"] != "DATA"]
    assert cal_rows == [("DRS4", 1872, 0), ("CALI", 1873, 0)]  # one calibration sequence, two runs
    for s in st["sequences"]:  # every row: {name: {"path": str, "exists": bool}}
        assert s["calibration_files"], s["run"]
        for name, f in s["calibration_files"].items():
            assert set(f) == {"path", "exists"} and isinstance(f["exists"], bool) and f["path"].endswith(".h5")
    seqs = {s["run"]: s for s in st["sequences"]}
    assert seqs[1872]["calibration_files"] == {"drs4_pedestal": {"path": str(p.drs4_pedestal(1872)), "exists": True}}
    assert {k: f["exists"] for k, f in seqs[1873]["calibration_files"].items()} == {
        "time_calibration": False, "charge_calibration": True}
    assert {k: f["exists"] for k, f in seqs[1874]["calibration_files"].items()} == {
        "drs4_pedestal": True, "charge_calibration": True, "time_calibration": False}
    floats = list(_floats(st))
    assert 30.3 in floats and 0.5155 in floats
    assert all(round(x, 4) == x for x in floats), [x for x in floats if round(x, 4) != x]


def test_table_names_the_parent_column_and_explains_it(night):
    from lstosa_snake.status.overview import format_table

    config, _ = night
    lines = format_table(night_status(config, PROJECT)).splitlines()
    assert lines[1].split() == ["seq", "parent", "type", "run", "subruns", "r0>dl1", "datacheck", "dl1>dl2",
                                "merged", "failed", "excluded", "no-raw", "calibration"]
    assert lines[2].split()[:6] == ["0", "-", "DRS4", "01872", "1", "calib"] and "100%" in lines[2]
    assert lines[3].split()[:6] == ["0", "-", "CALI", "01873", "1", "calib"] and "50%" in lines[3]
    assert lines[4].split()[:4] == ["1", "0", "DATA", "01874"]  # parent 0: the calibration sequence
    legend = "\n".join(lines)
    assert "parent: the calibration sequence (seq) a DATA run uses" in legend and "no-raw = no raw files" in legend
