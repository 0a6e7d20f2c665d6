"""lstosa-nightly for the operator: nights without work, damaged closed nights and --repair,
configuration errors, an untouched closed night, progress (terminal and log), the site configuration.

Like tests/test_nightly.py these run the real workflow with FAKE lstchain tools
(tests/data/fake_tools/fake_lst_tool.py) on toy nights: operations, not science.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import select
import subprocess
import time

import pytest

from fake_tools import PROJECT, cron_env, make_tools_bin, make_toy_night, run_with_timeout, toy_config_args, toy_summary
from lstosa_snake.jobs.integrity import closed_night_problems, manifest_path
from lstosa_snake.night.plan import night_paths
from lstosa_snake.night.nightsummary import NightSummary
from lstosa_snake.night.opsconfig import load_config
from lstosa_snake.ops.outlook import CALIBRATION_ONLY, DATA_NIGHT, EMPTY, MISSING_RAW, night_outlook, site_config_problem
from lstosa_snake.night.summary_writer import write_night_summary_text

NIGHTLY = PROJECT / "scripts" / "lstosa-nightly"


@pytest.fixture
def site(tmp_path):
    """An empty data tree, fake tools and models; nights are added by each test."""
    data = tmp_path / "data"
    data.mkdir()
    tools = make_tools_bin(tmp_path / "tools")
    config = toy_config_args(tmp_path, tools)
    args = ["--data-root", str(data), "--cores", "2"]
    for item in config:
        args += ["--config", item]
    notified = tmp_path / "notified.txt"
    return {"data": data, "tools": tools, "args": args, "tmp": tmp_path, "notified": notified,
            "notify": ["--notify-cmd", f"(cat; echo STATE=$LSTOSA_STATE CODE=$LSTOSA_EXIT_CODE) >> {notified}"],
            "config": dict(item.split("=", 1) for item in config)}


def nightly(site, date, *extra, timeout=240, env=None):
    return run_with_timeout([str(NIGHTLY), "--date", date, *site["args"], *site["notify"], *extra], timeout,
                            cwd="/", env=env or cron_env())


def split(res):
    """stdout lines without their time stamps (run_with_timeout merges stderr into stdout)."""
    return [line.split(" lstosa-nightly: ", 1)[-1] for line in res.stdout.splitlines()]


def tree(root):
    """Every path below root with its size, mtime and content: to prove nothing changed."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns, p.read_bytes() if p.is_file() else None)
    return out


def calibration_only_night(data, night):
    """A night of one DRS4 and one CALI (PEDCALIB) run and no DATA run."""
    summary = toy_summary(night, {1904: 1})
    make_toy_night(data, night, {1904: 1}, with_summary=False)
    for f in (data / "R0" / night.strftime("%Y%m%d")).glob("*Run01904*"):
        f.unlink()
    ns = data / "monitoring" / "NightSummary" / f"NightSummary_{night:%Y%m%d}.txt"
    ns.write_text(write_night_summary_text(NightSummary(night, tuple(r for r in summary.runs
                                                                     if r.run_type != "DATA"))))


def test_outlook_of_nights(site):
    data, config = site["data"], {**site["config"], "data_root": str(site["data"])}
    cfg = load_config(PROJECT, None, config)

    def kind(date):
        return night_outlook({**cfg, "date": date}, PROJECT)

    assert kind("2020-01-26").kind == EMPTY
    make_toy_night(data, dt.date(2020, 1, 27), {1874: 2})
    assert kind("2020-01-27").kind == DATA_NIGHT
    calibration_only_night(data, dt.date(2020, 1, 28))
    out = kind("2020-01-28")
    assert out.kind == CALIBRATION_ONLY and "calibration only, no DATA runs (calibration runs 01902, 01903)" in out.message
    make_toy_night(data, dt.date(2020, 1, 29), {1910: 2})
    for f in (data / "R0" / "20200129").glob("*Run01910*"):
        f.unlink()
    out = kind("2020-01-29")
    assert out.kind == MISSING_RAW and "missing raw data: DATA run(s) 01910" in out.message
    assert site_config_problem({}, None).startswith("no site configuration: pass --data-root DIR")
    assert site_config_problem({"data_root": "/fefs"}, None) is None
    assert site_config_problem({}, "site.yaml") is None


def test_nights_without_work(site):
    data = site["data"]
    # no summary, no raw files: nothing to do, one line, nothing written, nobody alarmed
    res = nightly(site, "2020-01-26", timeout=60)
    assert res.returncode == 0, res.stdout
    assert split(res) == [f"night 2020-01-26: no observations (no night summary, no raw files in "
                          f"{data}/R0/20200126): nothing to do"]
    assert not (data / "running_analysis").exists() and not site["notified"].exists()
    # DATA runs in the summary, none with raw data: a problem, reported and notified, nothing written
    make_toy_night(data, dt.date(2020, 1, 29), {1910: 2})
    for f in (data / "R0" / "20200129").glob("*Run01910*"):
        f.unlink()
    res = nightly(site, "2020-01-29", timeout=60)
    assert res.returncode == 5, res.stdout
    assert "night 2020-01-29: missing raw data: DATA run(s) 01910 of NightSummary_20200129.txt have no raw files" \
        in res.stdout
    assert not (data / "running_analysis").exists()
    assert "missing raw data" in site["notified"].read_text() and "STATE=error CODE=5" in site["notified"].read_text()
    site["notified"].unlink()
    # calibration only: its calibration is made (later nights borrow it), exit 0, one line, no alarm
    calibration_only_night(data, dt.date(2020, 1, 28))
    res = nightly(site, "2020-01-28")
    assert res.returncode == 0, res.stdout
    assert split(res)[-2] == ("night 2020-01-28: calibration only, no DATA runs (calibration runs 01902, 01903): "
                              "calibration made, nothing else to do")
    assert res.stdout.count("calibration only") == 1
    cat_a = data / "monitoring" / "PixelCalibration" / "Cat-A"
    assert (cat_a / "drs4_baseline/20200128/v0.12.3/drs4_pedestal.Run01902.0000.h5").is_file()
    assert (cat_a / "calibration/20200128/v0.12.3/calibration_filters_52.Run01903.0000.h5").is_file()
    assert (cat_a / "drs4_time_sampling_from_FF/20200128/v0.12.3/time_calibration.Run01903.0000.h5").is_file()
    assert not site["notified"].exists()


def test_closed_night_untouched_damaged_repaired_and_config_errors(site):
    data = site["data"]
    make_toy_night(data, dt.date(2020, 1, 27), {1874: 3, 1875: 2})
    assert nightly(site, "2020-01-27").returncode == 0
    rdir = data / "running_analysis/20200127/v0.12"
    assert manifest_path(night_paths({"date": "2020-01-27", "data_root": str(data), "prod_id": "v0.12",
                                      "calibration_version": "v0.12.3"}, PROJECT)).is_file()
    site["notified"].unlink()
    # a closed, intact night is left untouched: no log, production.json as it was
    logs = sorted((rdir / "log").glob("nightly_*.log"))
    record = rdir / "production.json"
    before = (record.read_text(), record.stat().st_mtime_ns)
    time.sleep(1.1)  # "created" has a resolution of one second
    res = nightly(site, "2020-01-27", timeout=120)
    assert res.returncode == 0 and "already closed" in res.stdout and "nothing done" in res.stdout, res.stdout
    assert sorted((rdir / "log").glob("nightly_*.log")) == logs
    assert (record.read_text(), record.stat().st_mtime_ns) == before
    # a merged DL1 file is lost: named, with the repair command; non-zero; no log written
    dl1 = data / "DL1/20200127/v0.12"
    lost = dl1 / "dl1_LST-1.Run01874.h5"
    lost_real = lost.resolve()  # the file in LSTOSA's tailcut84/: the workflow's path is a link to it
    assert lost_real.parent.name == "tailcut84" and lost_real.is_file()
    lost.unlink()
    res = nightly(site, "2020-01-27", timeout=120)
    assert res.returncode == 6, res.stdout
    lines = split(res)
    assert lines == ["night 2020-01-27 prod v0.12: CLOSED, but 1 product problem(s) since it was closed:",
                     f"  merged DL1 dl1_LST-1.Run01874.h5 is missing ({dl1})",
                     f"repair (rebuilds exactly these, keeps the rest): lstosa-nightly --repair --date 20200127 "
                     f"--prod-id v0.12 --data-root {data}"]
    assert "STATE=damaged CODE=6" in site["notified"].read_text()
    assert sorted((rdir / "log").glob("nightly_*.log")) == logs
    # configuration errors on a closed night: exit 2, one line, nothing done
    res = nightly(site, "2020-01-27", "--config", "calibration_policy=bogus", timeout=60)
    assert res.returncode == 2 and split(res) == [
        "lstosa-nightly: ERROR: invalid configuration: calibration_policy: 'bogus' is not one of "
        "['closest_before', 'last_of_night']"], res.stdout
    # a merged DL2 file overwritten by someone: "changed"
    changed = data / "DL2/20200127/v0.12/dl2_LST-1.Run01875.h5"
    changed.write_text("not what the workflow wrote\n")
    res = nightly(site, "2020-01-27", timeout=120)
    assert res.returncode == 6 and f"  merged DL2 dl2_LST-1.Run01875.h5 changed since closing ({changed.parent})" \
        in split(res), res.stdout
    # --repair: exactly these files are rebuilt (and what depends on them), the rest kept
    repaired = {changed, changed.resolve(), lost_real}  # written through the link: the file in tailcut84/
    kept = {p: p.stat().st_mtime_ns for d in (dl1, data / "DL2") for p in d.rglob("*.h5") if p not in repaired}
    res = nightly(site, "2020-01-27", "--repair")
    assert res.returncode == 0, res.stdout
    assert "repairing: 1 missing, 1 changed product(s): dl1_LST-1.Run01874.h5, dl2_LST-1.Run01875.h5" in res.stdout
    assert "night 2020-01-27 prod v0.12: CLOSED" in res.stdout
    assert "repaired 2 product(s): dl1_LST-1.Run01874.h5, dl2_LST-1.Run01875.h5" in res.stdout
    assert lost.read_text() and changed.read_text() != "not what the workflow wrote\n"
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    calls = (site["tools"] / "CALLS").read_text().splitlines()
    assert sum(c.startswith("lstchain_merge_hdf5_files") for c in calls) == 3  # 2 at first, 1 repair
    assert sum(c.startswith("lstosa-merge-hdf5-files") for c in calls) == 3  # DL2: 2 at first, 1 repair
    paths = night_paths({"date": "2020-01-27", "data_root": str(data), "prod_id": "v0.12",
                         "calibration_version": "v0.12.3"}, PROJECT)
    assert closed_night_problems(paths) == []
    again = nightly(site, "2020-01-27", timeout=120)
    assert again.returncode == 0 and "already closed" in again.stdout, again.stdout
    # a Snakemake-level configuration error on the closed night is not "work to do": exit 2
    res = nightly(site, "2020-01-27", "--snakemake-args", "--no-such-option", timeout=60)
    assert res.returncode == 2, res.stdout
    assert split(res) == ["lstosa-nightly: ERROR: night 2020-01-27 prod v0.12 (closed): Snakemake refused to start: "
                          "snakemake: error: unrecognized arguments: --no-such-option (nothing done)"]
    # --repair of an intact night: says so, and changes nothing
    res = nightly(site, "2020-01-27", "--repair", timeout=120)
    assert res.returncode == 0 and "intact: nothing to repair" in res.stdout and "already closed" in res.stdout
    # --timeout bounds the closed night's dry run too (1 s at least: less than Snakemake needs to plan)
    logs = sorted((rdir / "log").glob("nightly_*.log"))
    res = nightly(site, "2020-01-27", "--timeout", "0.01", timeout=120)
    assert res.returncode == 4 and split(res) == [
        "night 2020-01-27 prod v0.12 (closed): Snakemake's dry run did not finish within --timeout 0.01 s: "
        "nothing done"], res.stdout
    assert sorted((rdir / "log").glob("nightly_*.log")) == logs


def test_progress_in_the_log_when_not_on_a_terminal(site):
    make_toy_night(site["data"], dt.date(2020, 1, 27), {1874: 4})
    (site["tools"] / "SLEEP").write_text("lstchain_data_r0_to_dl1 1.5\n")
    res = nightly(site, "2020-01-27", "--progress-every", "2", "--cores", "1")
    assert res.returncode == 0, res.stdout
    lines = split(res)
    assert any(x.startswith("pass 1: r0_to_dl1 done (4 jobs); ") and " jobs (" in x and "ETA" in x
               for x in lines), lines
    periodic = [x for x in lines if "under way or waiting: " in x]
    assert periodic and "r0_to_dl1 " in periodic[0], lines
    assert any(x.startswith("pass 1: ") and " jobs done in " in x for x in lines)
    log = sorted((site["data"] / "running_analysis/20200127/v0.12/log").glob("nightly_*.log"))[-1].read_text()
    assert "pass 1: r0_to_dl1 done (4 jobs)" in log  # the log has the same lines
    assert "\r" not in res.stdout


def test_progress_on_a_terminal(site):
    make_toy_night(site["data"], dt.date(2020, 1, 27), {1874: 4})
    (site["tools"] / "SLEEP").write_text("lstchain_data_r0_to_dl1 1.5\n")
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(NIGHTLY), "--date", "2020-01-27", *site["args"], "--cores", "1"], stdin=slave,
                            stdout=slave, stderr=slave, cwd="/", env=cron_env(), start_new_session=True)
    os.close(slave)
    out, end = b"", time.monotonic() + 240
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the other side closed
                    break
                if not chunk:
                    break
                out += chunk
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
        os.close(master)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text
    redraws = [x for x in text.split("\r\x1b[K") if x.startswith("pass 1: ") and " jobs (" in x and "ETA" in x]
    assert len(redraws) >= 3, text  # the status line is redrawn while the jobs run
    assert any("r0_to_dl1 " in x and "/4" in x for x in redraws), redraws
    assert "under way or waiting" not in text and "r0_to_dl1 done (4 jobs)" not in text  # no log lines
    assert "night 2020-01-27 prod v0.12: CLOSED" in text


def test_cron_line_without_site_configuration_is_refused(tmp_path):
    night = PROJECT / "demo" / "data" / "running_analysis" / "20010101"
    res = run_with_timeout([str(NIGHTLY), "--date", "2001-01-01"], 60, cwd="/",
                           env=cron_env())
    assert res.returncode == 2
    assert res.stdout.splitlines() == [
        "lstosa-nightly: ERROR: no site configuration: pass --data-root DIR (and --config models_dir=DIR ...) or "
        "--configfile SITE.yaml; lstosa-nightly does not fall back to the demo night of config/config.yaml"]
    assert not night.exists()
    # a site file is enough: its data_root (and models_dir) are used, by us and by Snakemake
    data = tmp_path / "data"
    data.mkdir()
    tools = make_tools_bin(tmp_path / "tools")
    site = tmp_path / "site.yaml"
    items = {k: {"True": True, "False": False}.get(v, v)  # a YAML file: booleans, not strings
             for k, v in (x.split("=", 1) for x in toy_config_args(tmp_path, tools))}
    site.write_text(json.dumps({"data_root": str(data), **items}))
    res = run_with_timeout([str(NIGHTLY), "--date", "2001-01-01", "--configfile", str(site)], 60, cwd="/",
                           env=cron_env())
    assert res.returncode == 0, res.stdout
    assert f"no raw files in {data}/R0/20010101): nothing to do" in res.stdout
    assert not night.exists()
    # the site's models directory missing: said in one line before anything is written
    make_toy_night(data, dt.date(2020, 1, 27), {1874: 2})
    res = run_with_timeout([str(NIGHTLY), "--date", "2020-01-27", "--configfile", str(site), "--config",
                            f"models_dir={tmp_path}/no-models"], 60, cwd="/", env=cron_env())
    assert res.returncode == 2
    assert res.stdout.splitlines() == [f"lstosa-nightly: ERROR: models_dir: {tmp_path}/no-models is not a directory "
                                       "(the trained random-forest models)"]
    assert not (data / "running_analysis").exists()


def test_open_night_snakemake_refusals(site):
    """Snakemake refusing to start on an open night: an option error is exit 2 in one line; the
    workflow refusing the night's data (no drive log) is an error of the night, notified."""
    data = site["data"]
    make_toy_night(data, dt.date(2020, 1, 27), {1874: 2})
    res = nightly(site, "2020-01-27", "--snakemake-args", "--no-such-option", timeout=60)
    assert res.returncode == 2, res.stdout
    last = res.stdout.splitlines()[-1]
    assert last.startswith("lstosa-nightly: ERROR: night 2020-01-27 prod v0.12: Snakemake refused to start: "
                           "snakemake: error: unrecognized arguments: --no-such-option (log: "), res.stdout
    assert not site["notified"].exists()
    (data / "monitoring/DrivePositioning/DrivePosition_log_20200127.txt").unlink()
    res = nightly(site, "2020-01-27", timeout=60)
    assert res.returncode == 5, res.stdout
    assert (f"the workflow refused the night: drive log {data}/monitoring/DrivePositioning/DrivePosition_log_20200127.txt "
            "does not exist") in res.stdout
    assert "STATE=error CODE=5" in site["notified"].read_text()
    assert not list((data / "DL1").rglob("*.h5"))
