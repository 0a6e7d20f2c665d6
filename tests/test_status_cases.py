"""lstosa-status, the night page and the night report on the nights that used to be shown wrong.

A closed night that lost a product, summary rows skipped as bad, DATA runs without any raw file,
calibrations that serve no run, a calibration-only night. Toy nights (tests/fake_tools.py); only
the first test runs Snakemake (fake tools) so that the product manifest is the real close_night's.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess

from fake_tools import PROJECT, cron_env, make_tools_bin, make_toy_night, run_with_timeout, toy_config_args
from lstosa_snake.night import night_paths, plan_night
from lstosa_snake.nightsummary import NightSummary, Run
from lstosa_snake.report import build_report
from lstosa_snake.status import format_table, night_status
from lstosa_snake.summary_writer import write_night_summary_text
from lstosa_snake.webpage import render_night_html

STATUS = PROJECT / ".venv" / "bin" / "lstosa-status"
NIGHT = dt.date(2020, 1, 27)


def config_for(data, **kw) -> dict:
    return {"date": "2020-01-27", "data_root": str(data), "output_root": None, "prod_id": "v0.1",
            "calibration_version": "v0.12.3", **kw}


def status_cli(data, *extra) -> subprocess.CompletedProcess:
    return subprocess.run([str(STATUS), "--date", "2020-01-27", "--data-root", str(data), *extra],
                          capture_output=True, text=True, timeout=60)


def test_closed_night_with_a_lost_product(tmp_path):
    data = tmp_path / "data"
    make_toy_night(data, runs={1874: 2, 1875: 2})
    tools = make_tools_bin(tmp_path / "tools")
    args = ["--date", "2020-01-27", "--data-root", str(data), "--cores", "1"]
    for item in toy_config_args(tmp_path, tools):
        args += ["--config", item]
    out = run_with_timeout([str(PROJECT / "scripts" / "lstosa-nightly"), *args], 240, cwd="/", env=cron_env())
    assert out.returncode == 0, out.stdout[-3000:]
    intact = json.loads(status_cli(data, "--json").stdout)
    assert intact["state"] == "closed" and intact["missing_products"] == [] and intact["repair_command"] is None

    p = night_paths(config_for(data), PROJECT)
    p.dl1_run(1875).unlink()
    st = json.loads(status_cli(data, "--json").stdout)
    assert st["closed"] is True and st["state"] == "closed_products_missing"
    assert len(st["missing_products"]) == 1 and "dl1_LST-1.Run01875.h5 is missing" in st["missing_products"][0]
    repair = f"lstosa-nightly --repair --date 2020-01-27 --prod-id v0.1 --data-root {data}"
    assert st["repair_command"] == repair
    assert st["problems"][0].endswith(f"repair: {repair}") and "dl1_LST-1.Run01875.h5" in st["problems"][1]

    table = status_cli(data).stdout
    assert table.splitlines()[0].startswith("Night 2020-01-27  prod v0.1  CLOSED — PRODUCTS MISSING  ")
    assert repair in table and "dl1_LST-1.Run01875.h5 is missing" in table

    html = render_night_html(st)
    assert "closed — products missing</span>" in html and 'id="missing-products"' in html
    assert f"<code>{repair}</code>" in html and "dl1_LST-1.Run01875.h5 is missing" in html


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
