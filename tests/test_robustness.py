"""Robustness: bad input, faults, and no data loss (docs/robustness.md lists every case).

Fast tests use Snakemake's dry run or the FAKE lstchain tools (tests/fake_tools.py) on the toy night;
the ones where the point is real data (a truncated and an empty R0 file, products that must open after
a SIGKILL, raw data mounted read-only) run the REAL tools on a tiny generated night (markers tools, e2e).
Every Snakemake runs through ``run_snakemake`` (own process group, timeout, hard kill); every
lstosa-nightly through ``run_with_timeout`` or a Popen killed in ``finally``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from fake_tools import PROJECT, make_tools_bin, make_toy_night, run_with_timeout, toy_config_args
from slurm_fixtures import run_snakemake
from tiers import require_or_skip

NIGHTLY = PROJECT / "scripts" / "lstosa-nightly"
DATE = "20200127"
SUMMARY = Path("monitoring/NightSummary/NightSummary_20200127.txt")
RDIR = Path("running_analysis/20200127/v0.12")
GOOD_LINE = "01872    1 DRS4  2020-01-27 21:00:00 nan nan nan nan nan nan\n"


@pytest.fixture
def toy(tmp_path):
    data = tmp_path / "data"
    make_toy_night(data)
    tools = make_tools_bin(tmp_path / "tools")
    work = tmp_path / "work"
    work.mkdir()
    return {"data": data, "tools": tools, "tmp": tmp_path, "work": work,
            "config": [f"data_root={data}", *toy_config_args(tmp_path, tools)]}


def dry_run(toy, *config, timeout=120):
    args = ["--snakefile", PROJECT / "Snakefile", "--directory", toy["work"], "-n", "--cores", "1",
            "--config", "date=2020-01-27", *toy["config"], *config]
    return run_snakemake(args, cwd=toy["work"], timeout=timeout)


def one_error_line(res) -> str:
    assert res.returncode not in (0, None), str(res)
    assert "Traceback" not in res.output, str(res)
    errors = [line for line in res.output.splitlines() if "lstosa-snake: ERROR" in line]
    assert len(errors) == 1, str(res)
    return errors[0]


def job_counts(output: str) -> dict[str, int]:
    table = output.split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


# --------------------------------------------------------------------------- bad night summaries

BAD_SUMMARIES = {
    "empty": ("", None, "night summary is empty"),
    "only_comments": ("# nothing tonight\n\n", None, "night summary is empty"),
    # A bad row next to good ones is skipped with a warning (tests/test_bad_rows.py); a summary
    # with no usable row is refused, naming the first bad line.
    "malformed": ("01873 1 CALI 2020-01-27\n", 1, "no usable run line: run 01873: expected 11 fields"),
    "unknown_type": ("01873 1 PEDESTAL 2020-01-27 21:02:00 nan nan nan nan nan nan\n", 1,
                     "unknown run type 'PEDESTAL'"),
    "negative_subruns": (GOOD_LINE.replace("    1 DRS4", "   -3 DRS4"), 1, "between 1 and 10000, got -3"),
    "non_numeric_subruns": (GOOD_LINE.replace("    1 DRS4", "   x3 DRS4"), 1, "must be a whole number, got 'x3'"),
    "date_not_the_night": (GOOD_LINE.replace("2020-01-27", "2020-02-27"), 1,
                           "starts on 2020-02-27, which is not in the night of 2020-01-27"),
    "binary": (b"\x89HDF\r\n\x1a\n\xff\xfe", None, "not a text file"),
    "ecsv_without_run_type": ("# %ECSV 1.0\n# ---\n# delimiter: ','\nrun_id,n_subruns\n1874,3\n", 4,
                              "lacks columns ['run_type']"),
}


@pytest.mark.parametrize("case", sorted(BAD_SUMMARIES))
def test_bad_night_summary_is_one_line_error(toy, case):
    """snakemake -n --config night_summary=BAD: exit 1, one 'lstosa-snake: ERROR' line naming file and
    line, no traceback."""
    text, line, message = BAD_SUMMARIES[case]
    bad = toy["tmp"] / f"bad {case}.txt"  # a space in the name, for good measure
    bad.write_bytes(text if isinstance(text, bytes) else text.encode())
    res = dry_run(toy, f"night_summary={bad}")
    error = one_error_line(res)
    where = f"{bad}:{line}:" if line else f"{bad}:"
    assert f"lstosa-snake: ERROR: {where} " in error and message in error, error


def test_bad_summary_in_the_standard_place_is_refused_too(toy):
    (toy["data"] / SUMMARY).write_text("01872 1 DRS4\n")
    error = one_error_line(dry_run(toy))
    assert f"{toy['data'] / SUMMARY}:1: no usable run line: run 01872: expected 11 fields" in error


def test_summary_that_is_a_directory_or_missing(toy):
    error = one_error_line(dry_run(toy, f"night_summary={toy['tmp']}"))
    assert "cannot read night summary: Is a directory" in error
    error = one_error_line(dry_run(toy, f"night_summary={toy['tmp'] / 'nope.txt'}"))
    assert "night summary file does not exist" in error


def test_crlf_summary_plans_like_lf(toy):
    lf = dry_run(toy)
    assert lf.returncode == 0, str(lf)
    crlf = toy["tmp"] / "crlf.txt"
    crlf.write_bytes((toy["data"] / SUMMARY).read_bytes().replace(b"\n", b"\r\n"))
    res = dry_run(toy, f"night_summary={crlf}")
    assert res.returncode == 0, str(res)
    assert job_counts(res.output) == job_counts(lf.output)
    assert job_counts(res.output)["r0_to_dl1"] == 12


def test_data_runs_without_any_calibration_is_one_line_error(toy):
    nocal = toy["tmp"] / "nocal.txt"
    nocal.write_text("01874   10 DATA  2020-01-27 21:10:00 nan nan nan nan nan nan\n")
    error = one_error_line(dry_run(toy, f"night_summary={nocal}"))
    assert "no DRS4+CALI calibration pair and no earlier night within 4 nights" in error


# --------------------------------------------------------------------------- missing files, bad values, path tricks


def _missing(toy, key):
    return f"{key}={toy['tmp'] / 'does-not-exist'}"


@pytest.mark.parametrize("key, message", [
    ("models_dir", "models_dir: {p} is not a directory"),
    ("lstchain_config", "lstchain_config: {p} does not exist"),
    ("calibration_config", "calibration_config: {p} does not exist"),
    ("time_calibration_config", "time_calibration_config: {p} does not exist"),
    ("tools_bin", "tools_bin: {p} is not a directory"),
])
def test_missing_models_config_or_tools_refused_at_start(toy, key, message):
    """Before: a missing models_dir/lstchain_config was Snakemake's multi-line MissingInputException,
    and a missing calibration config or tools_bin passed the dry run and failed job by job."""
    error = one_error_line(dry_run(toy, _missing(toy, key)))
    assert message.format(p=toy["tmp"] / "does-not-exist") in error


def test_lstchain_config_not_json_refused(toy):
    cfg = toy["tmp"] / "broken.json"
    cfg.write_text('{"image_extractor": "LocalPeakWindowSum",\n')
    error = one_error_line(dry_run(toy, f"lstchain_config={cfg}"))
    assert f"lstchain_config: {cfg} is not valid JSON: " in error


def test_missing_drive_log_refused_at_start(toy):
    drive = toy["data"] / "monitoring" / "DrivePositioning" / f"DrivePosition_log_{DATE}.txt"
    drive.unlink()
    error = one_error_line(dry_run(toy))
    assert f"drive log {drive} does not exist" in error


def _unchecked_paths(root: Path, prod_id="v0.12", calibration_version="v0.12.3", date="20200127"):
    """The layout of lstosa_snake.night.paths with the values taken as given (no checks, the date string used
    as it is): where products WOULD go if a trick value got through."""
    import datetime as dt

    from lstosa_snake.night.paths import NightPaths

    class Unchecked(NightPaths):
        def __post_init__(self):  # the checks under test, left out on purpose
            pass

        @property
        def date(self):
            return date

        def _catA(self, kind, night=None):
            return self.output_root / "monitoring" / "PixelCalibration" / "Cat-A" / kind / date / self.calib_version

    return Unchecked(root, root, dt.date(2020, 1, 27), prod_id, calibration_version)


def _layout(paths) -> set[Path]:
    """Every path of the layout (one run, one sub-run), normalised as the OS would resolve it (before
    symlinks): '..' climbs, an absolute id replaces everything before it."""
    import inspect

    args = {"run": 1874, "subrun": 1, "stream": 1, "night": None, "name": "x.log", "kind": "calibration",
            "dl1_prod_id": "tailcut84", "ext": "h5", "nsb_tuning": "nsb_tuning_0.14"}
    out = set()
    for name, attr in inspect.getmembers(type(paths)):
        if name.startswith("_") or name == "pattern":
            continue
        if isinstance(attr, property):
            value = getattr(paths, name)
        elif inspect.isfunction(attr):
            params = list(inspect.signature(attr).parameters)[1:]
            missing = [p for p in params if p not in args]
            assert not missing, f"NightPaths.{name}: give the layout test a value for {missing}"
            value = getattr(paths, name)(*(args[p] for p in params))
        else:
            continue
        if isinstance(value, Path):
            out.add(Path(os.path.normpath(value)))
    return out


def escape_targets(root: Path, **tricks) -> set[Path]:
    """Where a trick value would make the workflow write: for every path of the layout that the trick
    changes, its shallowest ancestor that does not exist yet (the first thing a write would create), or
    the path itself if it exists."""
    targets = set()
    for path in _layout(_unchecked_paths(root, **tricks)) - _layout(_unchecked_paths(root)):
        first_missing = path
        while not first_missing.parent.exists():
            first_missing = first_missing.parent
        targets.add(first_missing)
    return targets


def _entry(p: Path) -> tuple:
    st = p.lstat()  # not the access time: reading is allowed
    return st.st_mode, st.st_ino, st.st_size, st.st_mtime_ns


def tree_state(top: Path, skip: Path) -> dict:
    """Every entry below TOP (but SKIP) with its type, size and mtime: a created then removed entry
    changes its directory's mtime."""
    return {str(p.relative_to(top)): _entry(p) for p in [top, *top.rglob("*")] if skip != p and skip not in p.parents}


@pytest.mark.parametrize("items, message", [
    (["date=../../etc"], "date: '../../etc' does not have the expected form"),
    (["date=/etc/passwd"], "date: '/etc/passwd' does not have the expected form"),
    (["date=2020-01-27/../../x"], "does not have the expected form"),
    (["date=20200127; rm -rf /"], "does not have the expected form"),
    (["date=2020-02-30"], "is not a calendar date"),
    (["prod_id=../escape"], "prod_id: '../escape' does not have the expected form"),
    (["prod_id=../../x"], "prod_id: '../../x' does not have the expected form"),
    (["prod_id=" + "../" * 12 + "lstosa-escape"], "prod_id: '" + "../" * 12 + "lstosa-escape' does not have"),
    (["prod_id=/abs"], "prod_id: '/abs' does not have the expected form"),
    (["prod_id=<tmp>/abs"], "prod_id: '<tmp>/abs' does not have the expected form"),
    (["calibration_version=a/../../b"], "calibration_version: 'a/../../b' does not have the expected form"),
    (["calibration_version=/abs-calib"], "calibration_version: '/abs-calib' does not have the expected form"),
    (["close_min_success_fraction=1.5"], "close_min_success_fraction: 1.5 is greater than the maximum of 1"),
    (["close_min_success_fraction=most"], "close_min_success_fraction: 'most' is not of type 'number'"),
    (["calibration_lookback_nights=-1"], "calibration_lookback_nights: -1 is less than the minimum of 0"),
    (["calibration_policy=sometimes"], "calibration_policy"),
    (["max_events=0"], "max_events: 0 is less than the minimum of 1"),
    (['exclude_subruns=["1874"]'], "exclude_subruns.0: '1874' does not have the expected form"),
    (["colour=blue"], "unknown key(s) ('colour' was unexpected)"),
])
def test_bad_values_and_path_tricks_refused(toy, items, message):
    """Refused in one line naming the key and the value; nothing created anywhere: not in the test's
    tree, and not where the trick value would have put products (computed from the layout)."""
    items = [i.replace("<tmp>", str(toy["tmp"])) for i in items]
    message = message.replace("<tmp>", str(toy["tmp"]))
    date = [i for i in items if i.startswith("date=")]
    tricks = {k: v for k, v in (i.split("=", 1) for i in items)
              if k in ("date", "prod_id", "calibration_version") and ("/" in v or ".." in v)}
    targets = escape_targets(toy["data"], **tricks)
    if tricks:  # a path trick: it would have written somewhere
        assert targets, tricks
    existing = {t: _entry(t) for t in targets if t.exists()}  # e.g. R0/<date> = /etc/passwd
    before = tree_state(toy["tmp"], toy["work"])
    args = ["--snakefile", PROJECT / "Snakefile", "--directory", toy["work"], "-n", "--cores", "1",
            "--config", *(date or ["date=2020-01-27"]), *toy["config"], *(i for i in items if i not in date)]
    res = run_snakemake(args, cwd=toy["work"], timeout=120)
    error = one_error_line(res)
    assert message in error, error
    assert not [t for t in targets if t not in existing and t.exists()], targets
    assert {t: _entry(t) for t in existing} == existing
    assert tree_state(toy["tmp"], toy["work"]) == before


def test_escape_targets_are_where_the_trick_would_write(tmp_path):
    """The computation the test above relies on: the places the layout resolves a trick value to."""
    data = tmp_path / "data"
    (data / "DL1").mkdir(parents=True)
    assert escape_targets(data, prod_id="/abs") == {Path("/abs")}  # an absolute id replaces the root
    assert escape_targets(data, prod_id="../" * 12 + "e") == {Path("/e")}  # '..' stops at /
    # DL1/<date>/../../x is data/x (so are DL2/... and running_analysis/...); the night-wise datacheck's
    # DL1/datacheck_files/night_wise/../../x is DL1/x
    assert escape_targets(data, prod_id="../../x") == {data / "x", data / "DL1" / "x", data / "OSA"}
    assert escape_targets(data, calibration_version="/abs-calib") == {Path("/abs-calib")}
    assert escape_targets(data, calibration_version="a/../../b") == {data / "monitoring", data / "running_analysis"}
    # ... and OSA/Closer/../../etc and DL1/datacheck_files/../../etc (LSTOSA's flag and links) are data/etc
    assert escape_targets(data, date="../../etc") == {tmp_path / "etc", data / "DL1" / "datacheck_files",
                                                      data / "monitoring", data / "etc"}


def test_nightly_refuses_path_trick_date():
    res = run_with_timeout([str(NIGHTLY), "--date", "../../etc"], 60)
    assert res.returncode == 2, res.stdout
    assert res.stdout.strip().splitlines() == ["lstosa-nightly: ERROR: night date must be YYYY-MM-DD or YYYYMMDD, "
                                               "got '../../etc'"]


# --------------------------------------------------------------------------- raw data not matching the summary


def nightly(toy, *extra, timeout=240, output_root=None):
    args = [str(NIGHTLY), "--date", "2020-01-27", "--data-root", str(toy["data"]), "--cores", "2"]
    if output_root:
        args += ["--output-root", str(output_root)]
    for item in toy_config_args(toy["tmp"], toy["tools"]):
        args += ["--config", item]
    return run_with_timeout([*args, *extra], timeout, cwd="/")


def test_missing_raw_subruns_left_out_and_reported(toy):
    r0 = toy["data"] / "R0" / DATE
    (r0 / "LST-1.3.Run01874.0004.fits.fz").unlink()  # one stream missing
    for f in r0.glob("LST-1.*.Run01874.0007.fits.fz"):  # the whole sub-run missing
        f.unlink()
    res = nightly(toy)
    assert res.returncode == 0, res.stdout
    assert "CLOSED" in res.stdout
    log = sorted((toy["data"] / RDIR / "log").glob("nightly_*.log"))[-1].read_text()
    assert "run 01874: raw files missing for 2 sub-run(s) 4,7" in log and "they are left out" in log
    report = json.loads((toy["data"] / RDIR / "night_report.json").read_text())
    run = next(s for s in report["sequences"] if s["run"] == 1874)
    assert run["missing_raw_subruns"] == [4, 7] and run["processed_subruns"] == 8 and run["failed_subruns"] == []
    status = run_with_timeout([str(PROJECT / ".venv/bin/lstosa-status"), "--date", "2020-01-27",
                               "--data-root", str(toy["data"]), "--json"], 60)
    assert status.returncode == 0, status.stdout
    text = status.stdout[status.stdout.index("{"):]  # after the plan's warning about the missing files
    seq = next(s for s in json.loads(text)["sequences"] if s["run"] == 1874)
    assert seq["missing_raw_subruns"] == [4, 7]


# --------------------------------------------------------------------------- faults


def final_products(root: Path) -> list[Path]:
    return [p for top in ("DL1", "DL2", "monitoring/PixelCalibration") if (root / top).is_dir()
            for p in (root / top).rglob("*") if p.is_file()]


def incomplete(products: list[Path]) -> list[tuple[str, bytes]]:
    """Products that are not whole: fake-tool products must read 'fake product', our own
    datacheck plot files (plots/) and provenance documents (provenance/) must be non-empty and
    their JSON must parse."""
    bad = []
    for p in products:
        data = p.read_bytes()
        if "plots" in p.parts or "provenance" in p.parts or p.name.endswith("_prov.json"):
            ok = bool(data)
            if ok and p.suffix == ".json":
                try:
                    json.loads(data)
                except ValueError:
                    ok = False
        else:
            ok = data == b"fake product\n"
        if not ok:
            bad.append((str(p), data[:40]))
    return bad


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0 or not shutil.which("mount"):
        require_or_skip("needs root to mount a tmpfs", tier="mount")
    mnt = tmp_path / "small disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        require_or_skip(f"cannot mount a tmpfs here: {r.stderr.strip()}", tier="mount")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.mount
def test_output_disk_full_clear_error_no_partial_files_then_resumes(toy, small_disk):
    """output_root on a 400 kB tmpfs: the night stops with a one-line 'no space' error (no traceback),
    every final file is complete; with more space the next invocation closes the night."""
    res = nightly(toy, output_root=small_disk)
    assert res.returncode == 5, res.stdout
    assert "Traceback" not in res.stdout
    assert "No space left on device" in res.stdout and "bytes free" in res.stdout, res.stdout
    products = final_products(small_disk)
    assert products, "nothing was written before the disk filled up"
    assert not incomplete(products)
    assert not [p for p in small_disk.rglob("*") if p.name.endswith(".partial")]
    assert not (small_disk / RDIR / "NightFinished.txt").exists()
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    again = nightly(toy, output_root=small_disk)
    assert again.returncode == 0, again.stdout
    assert "CLOSED" in again.stdout and "runs merged: 2 of 2" in again.stdout
    assert not incomplete(final_products(small_disk))
    staging = small_disk / RDIR / "staging"
    assert not staging.exists() or not any(staging.iterdir())


def test_second_snakemake_refuses_while_first_runs(toy):
    """Two Snakemakes on the same night and working directory: the second stops at Snakemake's own
    lock and leaves the first's products alone (lstosa-nightly's flock: tests/test_nightly.py)."""
    sleep = toy["tools"] / "SLEEP"
    sleep.write_text("lstchain_data_r0_to_dl1 20\n")
    args = ["--snakefile", PROJECT / "Snakefile", "--directory", toy["work"], "--cores", "2",
            "--config", "date=2020-01-27", *toy["config"]]
    first = {}
    thread = threading.Thread(target=lambda: first.update(res=run_snakemake(args, cwd=toy["work"], timeout=300,
                                                                            log_name="first.log")))
    thread.start()
    try:
        locks = toy["work"] / ".snakemake" / "locks"
        end = time.monotonic() + 60
        calls = toy["tools"] / "CALLS"
        while time.monotonic() < end and not (locks.is_dir() and any(locks.iterdir()) and calls.is_file()
                                              and "lstchain_data_r0_to_dl1" in calls.read_text()):
            time.sleep(0.2)
        second = run_snakemake(args, cwd=toy["work"], timeout=120, log_name="second.log")
    finally:
        sleep.unlink()  # the first's remaining jobs run fast
        thread.join(timeout=400)
    assert second.returncode == 1, str(second)
    assert "LockException" in second.output or "cannot be locked" in second.output, str(second)
    assert first["res"].returncode == 0, str(first["res"])
    assert (toy["data"] / RDIR / "NightFinished.txt").is_file()


def test_runner_clears_a_killed_attempts_staging_dir(tmp_path):
    """A job killed with SIGKILL leaves its staging dir (with partial products); the next attempt of the
    same job removes it, other jobs' dirs stay."""
    from lstosa_snake.jobs.runner import job_slug, run_atomic

    staging = tmp_path / "staging"
    label = "r0_to_dl1 run 01874 sub-run 0001"
    old = staging / f"job-{job_slug(label)}--abc123"
    old.mkdir(parents=True)
    (old / "dl1_LST-1.Run01874.0001.h5").write_text("half a file")
    other = staging / f"job-{job_slug(label)}0--x"  # another job whose slug starts alike
    other.mkdir()
    run_atomic(["sh", "-c", "echo ok > out.txt"], {"out.txt": tmp_path / "final.txt"}, tmp_path / "log.txt",
               staging, label)
    assert not old.exists() and other.exists()
    assert (tmp_path / "final.txt").read_text() == "ok\n"


@pytest.mark.mount
def test_runner_names_the_full_disk(tmp_path, small_disk):
    from lstosa_snake.jobs.runner import RunnerError, run_atomic

    subprocess.run(["sh", "-c", f"head -c 1000000 /dev/zero > '{small_disk / 'filler'}'"], capture_output=True)
    with pytest.raises(RunnerError, match=r"no space left on the output disk: \d+ bytes free"):
        run_atomic(["sh", "-c", "head -c 100000 /dev/zero > out.h5"], {"out.h5": small_disk / "final.h5"},
                   tmp_path / "log.txt", small_disk / "staging", "some job")
    assert not (small_disk / "final.h5").exists()


# --------------------------------------------------------------------------- real tools: corrupted raw data,
# SIGKILL mid-night, raw data mounted read-only

REAL_NIGHT = dict(data_runs=1, subruns=4, events_per_subrun=60, drs4_events=500, cali_events=600, first_run=2001)
TRUNCATED, EMPTY = (2003, 2), (2003, 3)  # stream 1 of 02003.0002 cut to 500000 bytes; stream 2 of 02003.0003 empty


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _probe(paths) -> list[dict]:
    from synthetic_fixtures import LST_PYTHON

    out = subprocess.run([str(LST_PYTHON), str(PROJECT / "tests" / "h5_probe.py"), *map(str, paths)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _raw_state(r0: Path) -> dict:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(r0.iterdir())}


@pytest.fixture(scope="module")
def faulty_night(tmp_path_factory, models_dir):
    """The tiny night with one truncated and one empty raw file, R0 bind-mounted read-only; lstosa-nightly
    and Snakemake's whole process group SIGKILLed (jobs die mid-write) once a sub-run's DL1 is final and
    while a job writes, then run again."""
    from synthetic_fixtures import LST_BIN, make_night

    if not (LST_BIN / "lstchain_data_r0_to_dl1").exists():
        require_or_skip(f"lstchain tools not installed in {LST_BIN} (run scripts/setup.sh)", tier="tools")
    if os.geteuid() != 0:
        require_or_skip("needs root for the read-only bind mount of R0", tier="mount")
    root = tmp_path_factory.mktemp("faulty")
    data = make_night(root / "data", **REAL_NIGHT)
    r0 = data / "R0" / DATE
    truncated = r0 / f"LST-1.1.Run{TRUNCATED[0]:05d}.{TRUNCATED[1]:04d}.fits.fz"
    os.truncate(truncated, 500_000)
    (r0 / f"LST-1.2.Run{EMPTY[0]:05d}.{EMPTY[1]:04d}.fits.fz").write_bytes(b"")
    before = _raw_state(r0)
    mount = subprocess.run(["mount", "--bind", "-o", "ro", str(data / "R0"), str(data / "R0")],
                           capture_output=True, text=True)
    if mount.returncode != 0:
        require_or_skip(f"cannot bind-mount R0 read-only: {mount.stderr.strip()}", tier="mount")
    try:
        probe_write = subprocess.run(["touch", str(r0 / "probe")], capture_output=True, text=True)
        assert probe_write.returncode != 0 and "Read-only file system" in probe_write.stderr
        cmd = [str(NIGHTLY), "--date", "2020-01-27", "--data-root", str(data), "--cores", "2",
               "--config", f"models_dir={models_dir}", "--config", "close_min_success_fraction=0.5"]
        rdir = data / RDIR
        first = subprocess.Popen(cmd, cwd="/", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 start_new_session=True)
        smk = []
        try:
            # the kill lands when some products are final (a sub-run's DL1 beyond the calibration) and a
            # job is writing another one in its staging dir
            end = time.monotonic() + 1200
            final_dl1, staged = [], []
            while time.monotonic() < end and first.poll() is None:
                final_dl1 = list((data / "DL1" / DATE / "v0.12").glob("dl1_LST-1.Run*.*.h5"))
                staged = list((rdir / "staging").glob("job-*/*.h5"))
                if final_dl1 and staged:  # kill at once: a staged file lives only while its job writes
                    break
                time.sleep(0.1)
            assert final_dl1 and staged, f"no final DL1 ({final_dl1}) while a job writes ({staged}) before the end"
            smk = [c for c in _children(first.pid) if "snakemake" in Path(f"/proc/{c}/cmdline").read_text()]
            assert smk, "no Snakemake child found"
            # a crash of the node: lstosa-nightly first (else it would go on to close the runs without the
            # sub-runs that failed by now), then Snakemake and all its jobs (tests/test_nightly.py kills
            # Snakemake alone)
            _killpg(first.pid)
            _killpg(smk[0])
            first_out, _ = first.communicate(timeout=120)
            # what the killed jobs left half-written: the files still in their staging dirs
            staged = [p.name for p in (rdir / "staging").glob("job-*/*.h5")]
        finally:
            for pid in (*smk, first.pid):
                _killpg(pid)
            first.wait()
        after_kill = sorted(p for p in final_products(data) if p.suffix in (".h5", ".fits"))
        second = run_with_timeout(cmd, 1800, cwd="/")
        yield {"data": data, "r0": r0, "before": before, "after": _raw_state(r0), "first_rc": first.returncode,
               "first_out": first_out, "after_kill": after_kill, "staged_at_kill": staged, "second": second,
               "rdir": rdir}
    finally:
        subprocess.run(["umount", str(data / "R0")], capture_output=True)




@pytest.mark.tools
@pytest.mark.e2e
@pytest.mark.mount
def test_killed_night_leaves_only_valid_products(faulty_night):
    """The kill landed while a job was writing and after products existed; every final file opens."""
    n = faulty_night
    assert n["first_rc"] == -signal.SIGKILL, n["first_out"]
    assert n["staged_at_kill"], "no job was writing when Snakemake was killed"
    names = {p.name for p in n["after_kill"]}
    assert {"dl1_LST-1.Run02003.0000.h5", "dl1_LST-1.Run02003.0001.h5"} & names, names
    assert any(name.startswith("drs4_pedestal.Run") for name in names), names
    described = _probe(n["after_kill"])
    assert sorted(d["path"] for d in described) == sorted(map(str, n["after_kill"]))


@pytest.mark.tools
@pytest.mark.e2e
@pytest.mark.mount
def test_corrupted_raw_subruns_fail_named_and_night_closes(faulty_night):
    n = faulty_night
    out = n["second"].stdout
    assert n["second"].returncode == 0, out
    assert "CLOSED" in out and "runs merged: 1 of 1 (02003)" in out
    # the failure policy decides after the pass in which the sub-runs failed: in the killed run when the kill
    # landed after that pass, else in the second
    assert "run 02003: 2 of 4 sub-runs failed (2-3)" in n["first_out"] + out
    assert "closed without failed sub-runs: 02003.0002, 02003.0003" in out
    assert re.search(r"r0_to_dl1 failed for run 02003 sub-run 0002: .*LST-1\.1\.Run02003\.0002\.fits\.fz is truncated"
                     r" or corrupted \(500000 bytes", out), out
    assert re.search(r"r0_to_dl1 failed for run 02003 sub-run 0003: .*LST-1\.2\.Run02003\.0003\.fits\.fz is empty",
                     out), out
    report = json.loads((n["rdir"] / "night_report.json").read_text())
    run = next(s for s in report["sequences"] if s["run"] == 2003)
    assert run["failed_subruns"] == [2, 3] and run["processed_subruns"] == 2


@pytest.mark.tools
@pytest.mark.e2e
@pytest.mark.mount
def test_every_product_opens_after_kill_and_rerun(faulty_night):
    n = faulty_night
    products = sorted(p for p in final_products(n["data"]) if p.suffix in (".h5", ".fits"))
    names = {p.name for p in products}
    for name in ("dl1_LST-1.Run02003.0000.h5", "dl1_LST-1.Run02003.0001.h5", "dl1_LST-1.Run02003.h5",
                 "dl2_LST-1.Run02003.h5", "muons_LST-1.Run02003.fits", "datacheck_dl1_LST-1.Run02003.h5"):
        assert name in names
    assert not any(".Run02003.0002." in x or ".Run02003.0003." in x for x in names)
    described = {Path(d["path"]).name: d for d in _probe(products)}
    assert described["dl1_LST-1.Run02003.h5"]["rows"] == 2 * REAL_NIGHT["events_per_subrun"]
    assert described["dl1_LST-1.Run02003.0001.h5"]["rows"] == REAL_NIGHT["events_per_subrun"]
    assert not [p for p in n["data"].rglob("*") if p.name.endswith(".partial")]
    staging = n["rdir"] / "staging"
    assert not staging.exists() or not any(staging.iterdir())  # the killed jobs' staging dirs are gone


@pytest.mark.tools
@pytest.mark.e2e
@pytest.mark.mount
def test_read_only_raw_data_unchanged(faulty_night):
    n = faulty_night
    assert n["after"] == n["before"]  # listing, sizes and mtimes of every raw file


# --------------------------------------------------------------------------- paths with spaces and metacharacters

ODD = """ta $HOME;echo 'q' "x" $(touch pwned)"""


def test_paths_with_spaces_and_shell_metacharacters_via_configfile(tmp_path):
    """data_root, output_root, tools_bin and models_dir with spaces, $, ;, quotes and $(...): every tool
    gets the exact path (the products land there) and no shell ever interprets them."""
    import yaml

    data, out = tmp_path / f"da {ODD}", tmp_path / """out put $PATH;"'x"""
    make_toy_night(data, runs={1874: 2})
    tools = make_tools_bin(tmp_path / "to ols $(touch pwned)")
    models = tmp_path / "mo dels;touch pwned"
    models.mkdir()
    cfg = tmp_path / "odd.yaml"
    # without DL1b and transparency, which read real HDF5 content (as fake_tools.toy_config_args)
    cfg.write_text(yaml.safe_dump({"data_root": str(data), "output_root": str(out), "tools_bin": str(tools),
                                   "models_dir": str(models), "dl1ab": False, "cherenkov_transparency": False}))
    work = tmp_path / "work"
    work.mkdir()
    res = run_snakemake(["--snakefile", PROJECT / "Snakefile", "--directory", work, "--cores", "2",
                         "--configfile", cfg, "--config", "date=2020-01-27"], cwd=work, timeout=300)
    assert res.returncode == 0, str(res)
    assert (out / RDIR / "NightFinished.txt").is_file()
    assert (out / "DL1" / DATE / "v0.12" / "dl1_LST-1.Run01874.h5").read_text() == "fake product\n"
    assert (out / "DL2" / DATE / "v0.12" / "dl2_LST-1.Run01874.h5").read_text() == "fake product\n"
    assert not incomplete(final_products(out))
    assert not list(tmp_path.rglob("pwned")) and not Path("/pwned").exists() and not (PROJECT / "pwned").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [data.name, out.name, tools.name, models.name, "odd.yaml", "work"])
    assert not list(data.glob("DL1")) and sorted(p.name for p in (data / "R0" / DATE).iterdir()) == sorted(
        f"LST-1.{s}.Run{r:05d}.{n:04d}.fits.fz" for r, k in ((1872, 1), (1873, 1), (1874, 2))
        for n in range(k) for s in (1, 2, 3, 4))


def test_nightly_with_spaces_and_metacharacters_in_roots(tmp_path):
    """The same through lstosa-nightly's --data-root/--output-root (passed on as --config KEY=VALUE:
    Snakemake strips quotes at the ends of such values and YAML drops ' #...', hence none here)."""
    data, out = tmp_path / "da ta $HOME;echo 'q' x", tmp_path / "out $(touch pwned); x"
    make_toy_night(data, runs={1874: 2})
    tools = make_tools_bin(tmp_path / "to ols")
    res = run_with_timeout([str(NIGHTLY), "--date", "2020-01-27", "--data-root", str(data), "--output-root", str(out),
                            "--cores", "2", *(a for item in toy_config_args(tmp_path, tools)
                                              for a in ("--config", item))], 300, cwd="/")
    assert res.returncode == 0, res.stdout
    assert "CLOSED" in res.stdout and "runs merged: 1 of 1" in res.stdout
    assert (out / RDIR / "NightFinished.txt").is_file()
    assert not incomplete(final_products(out))
    assert not list(tmp_path.rglob("pwned")) and not Path("/pwned").exists()


@pytest.mark.parametrize("root", ['/tmp/data"', "/tmp/'data'", "/tmp/da #ta", "/tmp/a: b"])
def test_nightly_refuses_paths_snakemake_config_would_change(root):
    res = run_with_timeout([str(NIGHTLY), "--date", "2020-01-27", "--data-root", root], 60)
    assert res.returncode == 2, res.stdout
    (line,) = res.stdout.strip().splitlines()
    assert line.startswith("lstosa-nightly: ERROR: data_root: ") and "would reach Snakemake changed" in line


def test_missing_or_empty_borrowed_calibration_refused(toy):
    """A night without calibration runs borrows an earlier night's; an incomplete set (one file
    missing, one empty) is not borrowed: one-line error. With the set complete, the night plans."""
    from lstosa_snake.night.paths import NightPaths
    import datetime as dt

    nocal = toy["tmp"] / "nocal.txt"
    nocal.write_text("01904    2 DATA  2020-01-27 21:10:00 nan nan nan nan nan nan\n")
    r0 = toy["data"] / "R0" / DATE
    for s in (0, 1):
        for stream in (1, 2, 3, 4):
            (r0 / f"LST-1.{stream}.Run01904.{s:04d}.fits.fz").write_bytes(b"x" * 2880)
    earlier = dt.date(2020, 1, 26)
    p = NightPaths(toy["data"], toy["data"], dt.date(2020, 1, 27), "v0.12", "v0.12.3")
    files = [p.drs4_pedestal(1872, earlier), p.charge_calibration(1873, earlier), p.time_calibration(1873, earlier)]
    for f in files[:2]:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("calibration\n")
    error = one_error_line(dry_run(toy, f"night_summary={nocal}"))  # time calibration missing
    assert "no DRS4+CALI calibration pair and no earlier night within 4 nights holds a PEDCALIB run with raw files or complete calibration" in error
    files[2].parent.mkdir(parents=True, exist_ok=True)
    files[2].write_text("")  # present but empty
    error = one_error_line(dry_run(toy, f"night_summary={nocal}"))
    assert "no earlier night within 4 nights holds a PEDCALIB run with raw files or complete calibration" in error
    files[2].write_text("calibration\n")
    res = dry_run(toy, f"night_summary={nocal}")
    assert res.returncode == 0, str(res)
    counts = job_counts(res.output)
    assert counts["r0_to_dl1"] == 2 and "drs4_pedestal" not in counts
