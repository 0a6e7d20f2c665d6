"""lstosa-status, the night page and the night report on the nights that used to be shown wrong.

A closed night that lost a product, summary rows skipped as bad, DATA runs without any raw file,
calibrations that serve no run, a calibration-only night. Toy nights (tests/fake_tools.py), no
Snakemake: the closed night's product manifest is written with lstosa_snake.jobs.integrity, as
close_night does.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess

from fake_tools import PROJECT, make_toy_night
from lstosa_snake.jobs import integrity
from lstosa_snake.night.plan import night_paths, plan_night
from lstosa_snake.night.nightsummary import NightSummary, Run
from lstosa_snake.web.report import build_report
from lstosa_snake.status.overview import format_table, night_status
from lstosa_snake.night.summary_writer import write_night_summary_text
from lstosa_snake.web.page import render_night_html

STATUS = PROJECT / ".venv" / "bin" / "lstosa-status"
NIGHT = dt.date(2020, 1, 27)


def config_for(data, **kw) -> dict:
    return {"date": "2020-01-27", "data_root": str(data), "output_root": None, "prod_id": "v0.12",
            "calibration_version": "v0.12.3", **kw}


def status_cli(data, *extra) -> subprocess.CompletedProcess:
    return subprocess.run([str(STATUS), "--date", "2020-01-27", "--data-root", str(data), *extra],
                          capture_output=True, text=True, timeout=60)


def test_closed_night_with_a_lost_product(tmp_path):
    data = tmp_path / "data"
    make_toy_night(data, runs={1874: 2, 1875: 2})
    p = night_paths(config_for(data), PROJECT)
    # a closed night as close_night leaves it: products, the flag and the product manifest
    for run in (1874, 1875):
        for s in range(2):
            for f in (p.dl1_subrun, p.datacheck_subrun, p.dl2_subrun):
                touch(f(run, s))
        for f in (p.dl1_run, p.dl2_run, p.muons_run, p.datacheck_run_pdf):
            touch(f(run))
    for f in (p.drs4_pedestal(1872), p.time_calibration(1873), p.charge_calibration(1873), p.night_finished):
        touch(f)
    integrity.write_manifest(p)
    intact = json.loads(status_cli(data, "--json").stdout)
    assert intact["state"] == "closed" and intact["missing_products"] == [] and intact["repair_command"] is None

    p.dl1_run(1875).unlink()
    st = json.loads(status_cli(data, "--json").stdout)
    assert st["closed"] is True and st["state"] == "closed_products_missing"
    assert len(st["missing_products"]) == 1 and "dl1_LST-1.Run01875.h5 is missing" in st["missing_products"][0]
    repair = f"lstosa-nightly --repair --date 2020-01-27 --prod-id v0.12 --data-root {data}"
    assert st["repair_command"] == repair
    assert st["problems"][0].endswith(f"repair: {repair}") and "dl1_LST-1.Run01875.h5" in st["problems"][1]

    table = status_cli(data).stdout
    assert table.splitlines()[0].startswith("Night 2020-01-27  prod v0.12  CLOSED — PRODUCTS MISSING  ")
    assert repair in table and "dl1_LST-1.Run01875.h5 is missing" in table

    html = render_night_html(st)
    assert "closed — products missing</span>" in html and 'id="missing-products"' in html
    assert f"<code>{repair}</code>" in html and "dl1_LST-1.Run01875.h5 is missing" in html

    p.dl2_run(1874).write_text("rewritten after closing")
    st = json.loads(status_cli(data, "--json").stdout)
    assert [m.split(" (")[0] for m in st["missing_products"]] == [
        "merged DL1 dl1_LST-1.Run01875.h5 is missing", "merged DL2 dl2_LST-1.Run01874.h5 changed since closing"]


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")


def write_summary(data, runs: list[Run], extra_lines: str = "") -> None:
    summary = data / "monitoring" / "NightSummary" / "NightSummary_20200127.txt"
    summary.write_text(write_night_summary_text(NightSummary(NIGHT, tuple(runs))) + extra_lines)


def test_skipped_summary_rows_are_shown_with_file_and_line(tmp_path):
    data = tmp_path / "data"
    toy = make_toy_night(data, runs={1874: 2})
    # line 4: not a number of sub-runs; line 5: a type nobody knows
    write_summary(data, list(toy.runs), "01880  two DATA  2020-01-27 23:00:00 nan nan nan nan nan nan\n"
                                        "01881    3 FOO   2020-01-27 23:30:00 nan nan nan nan nan nan\n")
    summary = str(data / "monitoring" / "NightSummary" / "NightSummary_20200127.txt")
    st = night_status(config_for(data), PROJECT)
    rows = st["skipped_rows"]
    assert [(r["file"], r["line"], r["run"]) for r in rows] == [(summary, 4, 1880), (summary, 5, 1881)]
    assert "two" in rows[0]["reason"] and "FOO" in rows[1]["reason"]
    assert {s["run"] for s in st["sequences"]} == {1872, 1873, 1874}  # the skipped runs are not planned

    table = format_table(st)
    assert "Summary rows skipped (2):" in table and f"{summary}:4: run 01880: " in table

    html = render_night_html(st)
    assert 'id="skipped-rows"' in html and "summary rows skipped" in html
    assert f"<td>{summary}</td><td class=\"num\">4</td><td class=\"num\">01880</td>" in html

    report = build_report(plan_night(config_for(data), PROJECT))
    assert [(r["file"], r["line"], r["run"]) for r in report["skipped_rows"]] == [(summary, 4, 1880), (summary, 5, 1881)]


def make_night(data, runs: list[Run]) -> None:
    """Raw stand-ins for every run of ``runs`` and their night summary."""
    from fake_tools import RAW_STANDIN

    r0 = data / "R0" / "20200127"
    r0.mkdir(parents=True, exist_ok=True)
    for run in runs:
        for s in range(run.n_subruns):
            for stream in (1, 2, 3, 4):
                (r0 / f"LST-1.{stream}.Run{run.run_id:05d}.{s:04d}.fits.fz").write_bytes(RAW_STANDIN)
    (data / "monitoring" / "NightSummary").mkdir(parents=True, exist_ok=True)
    write_summary(data, runs)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(NIGHT, dt.time(hour, minute))


def test_run_without_raw_files_is_missing_raw_data_not_excluded(tmp_path):
    data = tmp_path / "data"
    make_toy_night(data, runs={1874: 2, 1875: 2, 1876: 1})
    for f in (data / "R0" / "20200127").glob("LST-1.*.Run01875.*"):
        f.unlink()
    config = config_for(data, exclude_runs=[1876])
    st = night_status(config, PROJECT)
    seqs = {s["run"]: s for s in st["sequences"]}
    assert st["missing_raw_runs"] == [1875] and st["excluded_runs"] == [1876]
    assert seqs[1875]["note"] == "missing raw data" and seqs[1875]["missing_raw_run"] is True
    assert seqs[1875]["excluded_run"] is False and seqs[1875]["processed"] is False
    assert seqs[1876]["note"] == "excluded" and seqs[1876]["excluded_run"] is True
    assert seqs[1876]["missing_raw_run"] is False
    assert seqs[1874]["note"] is None and seqs[1874]["processed"] is True
    assert st["problems"] == [f"run 01875: missing raw data (listed in the night summary, no raw file in "
                              f"{data / 'R0' / '20200127'})"]  # the excluded run is no problem

    lines = {line.split()[3]: line for line in format_table(st).splitlines()[2:] if line[:1].isdigit()}
    assert "missing raw data" in lines["01875"] and "excluded" not in lines["01875"]
    assert "excluded" in lines["01876"]

    html = render_night_html(st)
    assert '<tr id="run-01875">' in html
    row = html.split('<tr id="run-01875">')[1].split("</tr>")[0]
    # one cell over the five stage columns (four of DATA runs, one of calibration runs)
    assert "missing raw data</td>" in row and 'colspan="5"' in row and "%" not in row
    assert '<th class="stage" title="calibration">Calib. files</th>' in html
    assert "<b>1</b> runs without raw data" in html

    report = {s["run"]: s for s in build_report(plan_night(config, PROJECT))["sequences"]}
    assert report[1875]["missing_raw_run"] is True and report[1875]["excluded_run"] is False
    assert report[1876]["excluded_run"] is True and report[1876]["missing_raw_run"] is False


def test_unused_calibration_is_shown_as_unused_not_at_zero(tmp_path):
    data = tmp_path / "data"
    # the second DRS4+CALI pair is taken after the last DATA run: under closest_before it serves no run
    make_night(data, [Run(1872, 1, "DRS4", at(21)), Run(1873, 1, "CALI", at(21, 2)),
                      Run(1874, 2, "DATA", at(21, 10)), Run(1880, 1, "DRS4", at(23, 50)),
                      Run(1881, 1, "CALI", at(23, 52))])
    st = night_status(config_for(data), PROJECT)
    rows = [(s["seq"], s["type"], s["run"], s["note"]) for s in st["sequences"]]
    assert rows == [(0, "DRS4", 1872, None), (0, "CALI", 1873, None), (1, "DRS4", 1880, "unused"),
                    (1, "CALI", 1881, "unused"), (2, "DATA", 1874, None)]
    seqs = {s["run"]: s for s in st["sequences"]}
    assert seqs[1881]["stages"] == {"calibration": None} and seqs[1881]["unused"] is True
    assert seqs[1873]["stages"] == {"calibration": 0.0} and seqs[1873]["unused"] is False
    assert st["unused_calibrations"] == ["DRS4 01880 + CALI 01881 (2020-01-27)"]
    assert st["problems"] == []  # unused is not a problem

    lines = {line.split()[3]: line for line in format_table(st).splitlines()[2:] if line[:1].isdigit()}
    assert "unused" in lines["01881"] and "%" not in lines["01881"]
    assert "calib 0%" in lines["01873"]
    html = render_night_html(st)
    row = html.split('<tr id="run-01881">')[1].split("</tr>")[0]
    assert "unused</td>" in row and "%" not in row
    assert "<b>3</b> sequences" in html  # five rows: the DRS4 rows belong to their calibration sequences

    report = build_report(plan_night(config_for(data), PROJECT))
    assert [(c["drs4_run"], c["cali_run"]) for c in report["unused_calibrations"]] == [(1880, 1881)]
    assert {s["run"]: s.get("unused") for s in report["sequences"] if s["type"] == "CALI"} == {1873: False, 1881: True}


def test_calibration_only_night(tmp_path):
    data = tmp_path / "data"
    make_night(data, [Run(1872, 1, "DRS4", at(21)), Run(1873, 1, "CALI", at(21, 2))])
    config = config_for(data)
    st = night_status(config, PROJECT)
    assert st["calibration_only"] is True and st["state"] == "open" and st["problems"] == []
    assert [(s["type"], s["note"], s["stages"]) for s in st["sequences"]] == [
        ("DRS4", None, {"calibration": 0.0}), ("CALI", None, {"calibration": 0.0})]
    assert "(calibration-only night" in format_table(st).splitlines()[0]
    assert "calibration-only night" in render_night_html(st)
    # its calibration made and the night closed: closed, still calibration-only, nothing missing
    p = night_paths(config, PROJECT)
    for f in (p.drs4_pedestal(1872), p.time_calibration(1873), p.charge_calibration(1873), p.night_finished):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("x")
    st = night_status(config, PROJECT)
    assert st["state"] == "closed" and st["calibration_only"] is True
    assert [s["stages"]["calibration"] for s in st["sequences"]] == [1.0, 1.0]
    assert format_table(st).splitlines()[0].startswith("Night 2020-01-27  prod v0.12  CLOSED (calibration-only night")
    assert build_report(plan_night(config, PROJECT))["calibration_only"] is True


def test_source_from_the_run_catalog(tmp_path):
    data = tmp_path / "data"
    make_toy_night(data, runs={1874: 1, 1875: 1})
    catalog = data / "monitoring" / "RunCatalog" / "RunCatalog_20200127.ecsv"
    catalog.parent.mkdir(parents=True)
    catalog.write_text("# %ECSV 1.0\n# ---\n# datatype:\n# - {name: run_id, datatype: int32}\n"
                       "# - {name: source_name, datatype: string}\n# - {name: source_ra, datatype: float64}\n"
                       "# - {name: source_dec, datatype: float64}\n# delimiter: ','\n# schema: astropy-2.0\n"
                       "run_id,source_name,source_ra,source_dec\n1874,Crab,83.633,22.014\n")
    st = night_status(config_for(data), PROJECT)
    assert {s["run"]: s["source"] for s in st["sequences"] if s["type"] == "DATA"} == {1874: "Crab", 1875: None}
    assert '01874<span class="muted source">Crab</span>' in render_night_html(st)


def test_looked_up_calibration_files_count_for_the_cali_row(tmp_path):
    data = tmp_path / "data"
    make_toy_night(data, runs={1874: 1})
    # LSTOSA's "pro" time calibration of an earlier run and an F-factor systematics file
    pro = data / "monitoring" / "PixelCalibration" / "Cat-A" / "drs4_time_sampling_from_FF" / "20200110" / "pro"
    pro.mkdir(parents=True)
    (pro / "time_calibration.Run01700.0000.h5").write_text("x")
    systematics = tmp_path / "ffactor_systematics_20200127.h5"
    systematics.write_text("x")
    config = config_for(data, time_calibration="lookup", ffactor_systematics=str(systematics))
    p = night_paths(config, PROJECT)
    p.charge_calibration(1873).parent.mkdir(parents=True)
    p.charge_calibration(1873).write_text("x")
    seqs = {s["run"]: s for s in night_status(config, PROJECT)["sequences"]}
    files = seqs[1873]["calibration_files"]
    assert files["time_calibration"] == {"path": str(pro / "time_calibration.Run01700.0000.h5"), "exists": True}
    assert files["ffactor_systematics"] == {"path": str(systematics), "exists": True}
    assert files["charge_calibration"]["exists"] is True
    assert seqs[1873]["stages"] == {"calibration": 1.0}  # nothing left to make tonight
    assert seqs[1874]["calibration_files"]["time_calibration"] == files["time_calibration"]
