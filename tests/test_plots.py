"""Our datacheck plots, night page and Snakemake report on the night processed with the real tools.

``local_night`` (tests/e2e_fixtures.py) runs the whole workflow once per session, including the
rules run_plots, calibration_plots, night_page and publish_datacheck (datacheck_url null).
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from lstosa_snake.web.plotting import CALIBRATION_PLOTS, RUN_PLOTS, png_size
from slurm_fixtures import run_snakemake
from synthetic_fixtures import LST_PYTHON

pytestmark = [pytest.mark.tools]

DATE = "20200127"
PROD = "v0.12"


def report(night) -> dict:
    return json.loads(night.product("running_analysis", DATE, PROD, "night_report.json").read_text())


def data_runs(night) -> list[int]:
    return [s["run"] for s in report(night)["sequences"] if s["type"] == "DATA"]


def cali_runs(night) -> list[int]:
    return [s["run"] for s in report(night)["sequences"] if s["type"] == "CALI"]


def plots_dir(night, name):
    return night.product("DL1", DATE, PROD, "datacheck", "plots", name)


def check_plot_dir(directory, names, min_bytes=10_000):
    manifest = json.loads((directory / "plots.json").read_text())
    assert [p["plot"] for p in manifest["plots"]] == list(names)
    for entry in manifest["plots"]:
        png = directory / entry["file"]
        width, height = png_size(png)  # a PNG by its header
        assert width >= 600 and height >= 350, (png, width, height)
        assert png.stat().st_size > min_bytes, png  # drawn content, not a blank placeholder
        assert "error" not in entry, entry
        assert len(entry["caption"]) > 60 and entry["title"]
    assert not list(directory.glob(".*.tmp"))  # atomic writes leave no temporary files
    return manifest


def test_run_plots(local_night):
    runs = data_runs(local_night)
    assert len(runs) == 2
    for run in runs:
        manifest = check_plot_dir(plots_dir(local_night, f"Run{run:05d}"), RUN_PLOTS)
        assert manifest["run"] == run and manifest["kind"] == "run"
        caps = {p["plot"]: p["caption"] for p in manifest["plots"]}
        assert f"Run {run:05d}" in caps["event_rate"] and "cosmic" in caps["event_rate"]
        assert "p.e." in caps["intensity"] and "gammaness" in caps["gammaness"]


def test_calibration_plots(local_night):
    (cali,) = cali_runs(local_night)
    manifest = check_plot_dir(plots_dir(local_night, f"calibration_Run{cali:05d}"), CALIBRATION_PLOTS)
    caps = {p["plot"]: p["caption"] for p in manifest["plots"]}
    assert "p.e." in caps["flatfield"] and "noise" in caps["pedestal"] and "DRS4" in caps["drs4_baseline"]
    ff = next(p for p in manifest["plots"] if p["plot"] == "flatfield")
    assert ff["values"]["median_pe_high_gain"] > 1  # the synthetic flat-field really has photo-electrons


def test_unreadable_input_gives_placeholder_and_error(tmp_path):
    bad = tmp_path / "dl1_LST-1.Run09999.h5"
    bad.write_text("not an HDF5 file\n")
    out = tmp_path / "plots"
    res = subprocess.run([str(LST_PYTHON), "-m", "lstosa_snake.web.plots", "run", "--run", "9999", "--dl1", bad,
                          "--dl2", tmp_path / "missing.h5", "--out-dir", out], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "plots.json").read_text())
    assert all(p.get("error") for p in manifest["plots"])
    assert all("could not be made" in p["caption"] for p in manifest["plots"])
    for p in manifest["plots"]:
        assert png_size(out / p["file"]) == (400, 100)


def test_night_page_built_from_workflow_state(local_night):
    web = local_night.product("datacheck_web", PROD, DATE)
    night = json.loads((web / "night.json").read_text())
    assert night["closed"] is True
    assert [s["run"] for s in night["sequences"] if s["type"] == "DATA"] == data_runs(local_night)
    # 4 per run, 3 of the calibration, the night's Cherenkov transparency
    assert len(night["plots"]) == 4 * len(data_runs(local_night)) + 3 + 1
    assert sum("transparency" in p["path"] for p in night["plots"]) == 1
    for p in night["plots"]:
        assert (web / p["path"]).is_file() and p["caption"]
    pdfs = [d["path"] for d in night["pdfs"]]
    for run in data_runs(local_night):
        assert f"pdf/datacheck_dl1_LST-1.Run{run:05d}.pdf" in pdfs
        assert (web / "pdf" / f"datacheck_dl1_LST-1.Run{run:05d}.pdf").read_bytes()[:5] == b"%PDF-"
    assert "night_report.json" in pdfs and f"DL1_datacheck_{DATE}.html" in pdfs
    assert night["problems"] == []
    index = local_night.product("datacheck_web", PROD, "index.html").read_text()
    assert f'href="{DATE}/index.html"' in index
    status = json.loads(local_night.product("running_analysis", DATE, PROD, "publish_datacheck.json").read_text())
    assert status["state"] == "skipped"


def test_snakemake_report_has_plots_and_captions(local_night):
    out = local_night.workdir / "report.html"
    res = run_snakemake([*local_night.config_args, "--report", out], cwd=local_night.workdir, timeout=600,
                        log_name="report.log")
    assert res.returncode == 0, str(res)
    html = out.read_text()
    assert out.stat().st_size > 200_000  # the PNGs are embedded
    # self-contained: no resource loaded from elsewhere
    assert not re.search(r"""<(?:img|script|link)[^>]+(?:src|href)=["']https?://""", html)
    for caption in ("rate of DL1 events versus time", "image intensity", "Hillas parameters", "gammaness",
                    "flat-field charge per pixel", "pedestal events per pixel", "DRS4 baseline"):
        assert caption in html, caption
    for run in data_runs(local_night):
        assert f"Run {run:05d}" in html or f"Run {run}" in html


# --------------------------------------------------------------------------- browser

@pytest.mark.web
def test_workflow_night_page_in_browser(local_night, nginx_dav, dav_path, chromium, monkeypatch):
    """The workflow's night page, published as the publish rule does, renders with every image."""
    from lstosa_snake.web.datacheck import publish_night
    from test_webpage import CHECK_PAGE, _browser_check

    monkeypatch.setenv("LSTOSA_WEB_USER", nginx_dav.user)
    monkeypatch.setenv("LSTOSA_WEB_PASSWORD", nginx_dav.password)
    web_root = local_night.product("datacheck_web", PROD)
    status_file = local_night.workdir / "publish_test.json"
    url = f"{nginx_dav.url}{dav_path}{PROD}/"
    st = publish_night(web_root, "2020-01-27", url, status_file)
    assert st["state"] == "sent", st
    (nginx_dav.root / dav_path / PROD / "check.html").write_text(CHECK_PAGE.format(page=f"{DATE}/index.html"))
    result = _browser_check(chromium, f"{nginx_dav.public_url}{dav_path}{PROD}/check.html")
    assert result["title"].startswith("LST-1 night 2020-01-27")
    sequences = report(local_night)["sequences"]
    # one row per run: a calibration sequence shows its DRS4 run, then its CALI run
    assert result["rows"] == [f"{r:05d}" for s in sequences
                              for r in ((s["drs4_run"], s["run"]) if s["type"] != "DATA" else (s["run"],))]
    assert len(result["imgs"]) == 4 * len(data_runs(local_night)) + 3 + 1  # + the transparency plot
    broken = [i for i in result["imgs"] if not (i["complete"] and i["w"] > 0 and i["h"] > 0)]
    assert broken == [], broken
    for img in result["imgs"]:
        assert nginx_dav.count("GET", f"/{dav_path}{PROD}/{DATE}/{img['src']}", 200,
                               port=nginx_dav.public_port) >= 1
