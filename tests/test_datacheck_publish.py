"""The night page and its publication inside the workflow (rules night_page, publish_datacheck).

Fake lstchain tools (tests/fake_tools.py): the plots become placeholders (the fake products are
not HDF5 files), which is what these tests need: the page and the publication's failure handling,
not the science (that is tests/test_plots.py on the real tools).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from fake_tools import PROJECT, make_tools_bin, make_toy_night, run_with_timeout, toy_config_args
from lstosa_snake.web.datacheck import publish_retry_token

SNAKEMAKE = PROJECT / ".venv" / "bin" / "snakemake"
RDIR = Path("running_analysis/20200127/v0.12")
WEB = Path("datacheck_web/v0.12/20200127")
SECRET = "s3cr3t-not-the-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def toy(tmp_path):
    data = tmp_path / "data"
    make_toy_night(data)
    tools = make_tools_bin(tmp_path / "tools")
    work = tmp_path / "work"
    work.mkdir()
    config = ["date=2020-01-27", f"data_root={data}", *toy_config_args(tmp_path, tools)]
    return {"data": data, "work": work, "config": config, "tmp": tmp_path}


def snakemake(toy, *config, extra=(), env=None, timeout=300):
    cmd = [str(SNAKEMAKE), "--snakefile", str(PROJECT / "Snakefile"), "--directory", str(toy["work"]),
           "--cores", "2", *extra, "--config", *toy["config"], *config]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "LSTOSA_WEB_"))}
    base_env["NETRC"] = str(toy["tmp"] / "no-netrc")  # no credentials from the tester's ~/.netrc
    base_env.update(env or {})
    return run_with_timeout(cmd, timeout, cwd=toy["work"], env=base_env)


def status(toy) -> dict:
    return json.loads((toy["data"] / RDIR / "publish_datacheck.json").read_text())


def test_no_url_publishing_skipped(toy):
    res = snakemake(toy)
    assert res.returncode == 0, res.stdout[-3000:]
    st = status(toy)
    assert st["state"] == "skipped" and st["url"] is None
    night = json.loads((toy["data"] / WEB / "night.json").read_text())
    assert [s["run"] for s in night["sequences"] if s["type"] == "DATA"] == [1874, 1875]
    assert (toy["data"] / WEB / "index.html").is_file() and (toy["data"] / WEB.parent / "index.html").is_file()
    # the fake products are not HDF5: every plot is a placeholder, listed under the problems
    assert any("could not be made" in p for p in night["problems"])


def test_unreachable_server_does_not_fail_the_night(toy):
    url = f"http://127.0.0.1:{free_port()}/lst/"  # nothing listens there
    res = snakemake(toy, f"datacheck_url={url}")
    assert res.returncode == 0, res.stdout[-3000:]
    assert (toy["data"] / RDIR / "NightFinished.txt").is_file()
    st = status(toy)
    assert st["state"] == "failed" and st["url"].startswith(url) and "127.0.0.1" in st["error"]
    log = (toy["data"] / RDIR / "log" / "publish_datacheck.log").read_text()
    assert "failed" in log and "ERROR" in log
    page = (toy["data"] / WEB / "index.html").read_text()
    assert "publishing the datacheck to" in page
    # the next invocation retries the publication (and only that)
    assert publish_retry_token(toy["data"] / RDIR / "publish_datacheck.json").startswith("failed ")
    dry = snakemake(toy, f"datacheck_url={url}", extra=["-n"])
    assert dry.returncode == 0 and "publish_datacheck" in dry.stdout, dry.stdout[-3000:]
    assert "r0_to_dl1" not in dry.stdout.split("Job stats:")[1]


@pytest.mark.web
def test_wrong_credentials_recorded_not_fatal(toy, nginx_dav, dav_path):
    res = snakemake(toy, f"datacheck_url={nginx_dav.url}{dav_path}",
                    env={"LSTOSA_WEB_USER": nginx_dav.user, "LSTOSA_WEB_PASSWORD": SECRET})
    assert res.returncode == 0, res.stdout[-3000:]
    st = status(toy)
    assert st["state"] == "failed" and "401" in st["error"]
    for f in (toy["data"] / RDIR / "log").rglob("*"):
        if f.is_file():
            assert SECRET not in f.read_text(errors="replace"), f
    assert SECRET not in res.stdout
    assert "HTTP 401" in (toy["data"] / WEB / "index.html").read_text()
    # right credentials: the retry sends the night and the index
    res = snakemake(toy, f"datacheck_url={nginx_dav.url}{dav_path}",
                    env={"LSTOSA_WEB_USER": nginx_dav.user, "LSTOSA_WEB_PASSWORD": nginx_dav.password})
    assert res.returncode == 0, res.stdout[-3000:]
    assert status(toy)["state"] == "sent"
    remote = nginx_dav.root / dav_path / "v0.12"
    assert (remote / "index.html").is_file() and (remote / "20200127" / "index.html").is_file()
    assert "publishing the datacheck" not in (remote / "20200127" / "index.html").read_text()
