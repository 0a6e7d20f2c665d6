"""Helpers for the operation tests: a toy night and a ``tools_bin`` of FAKE lstchain tools.

The fake tools (tests/data/fake_tools/fake_lst_tool.py) only write small text files where the
real tools write their products: they test the operation layer (lstosa-nightly, lstosa-status,
lstosa-reprocess, Snakemake's resumption, failure markers, closing), not the science. The real
tools are covered by the end-to-end tests.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path
from shlex import quote

from lstosa_snake.night.nightsummary import NightSummary, Run, TimeReference
from lstosa_snake.night.summary_writer import write_night_summary_text

PROJECT = Path(__file__).resolve().parents[1]
FAKE = PROJECT / "tests" / "data" / "fake_tools" / "fake_lst_tool.py"
TOOLS = (
    "lstchain_create_drs4_pedestal_file", "lstosa-create-time-calibration", "lstchain_create_calibration_file",
    "lstchain_data_r0_to_dl1", "lstchain_check_dl1", "lstchain_dl1_to_dl2", "lstchain_merge_hdf5_files",
    "lstosa-merge-hdf5-files", "lstchain_merge_muon_files", "lstchain_longterm_dl1_check", "lstosa-create-run-summary",
    "lstosa-probe-run", "lstchain_find_tailcuts", "lstchain_create_cat_B_calibration_file", "lstchain_dl1ab",
)
#: events per kind in each fake sub-run, as the fake ``tables`` of the DL1b wrapper reports them
#: (event_type 32 cosmics, 0 flat-field, 2 pedestal): enough for the finder (>= 100 pedestals per
#: sub-run) and Cat-B (>= catB_min_events)
FAKE_EVENT_TYPES = {32: 700, 0: 150, 2: 150}
# python -m lstosa_snake.jobs.dl1b counts the event types of the DL1a and interleaved files with PyTables
# (count_types) to decide whether the finder and Cat-B can run; the fake products are text, so its
# python gets this stand-in, which answers FAKE_EVENT_TYPES for any file (nothing else of PyTables)
FAKE_TABLES = f"""\"\"\"PyTables stand-in for lstosa_snake.jobs.dl1b.count_types with the fake tools (tests/fake_tools.py).\"\"\"
import numpy as np

COUNTS = {FAKE_EVENT_TYPES!r}


class _Node:
    def col(self, name):
        assert name == "event_type", name
        return np.repeat(np.array(list(COUNTS), dtype=np.int64), list(COUNTS.values()))


class _File:
    def __init__(self, path):
        open(path).close()  # the file must exist

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def get_node(self, name):
        return _Node()


def open_file(path, mode="r"):
    return _File(path)
"""
NIGHT = dt.date(2020, 1, 27)
#: the toy night: one DRS4 and one CALI run, two DATA runs of 10 and 2 sub-runs
TOY_RUNS = {1874: 10, 1875: 2}


def make_tools_bin(directory: Path) -> Path:
    """A tools_bin of fake tools (shell wrappers) plus ``python`` (for the close_night rule)."""
    directory.mkdir(parents=True, exist_ok=True)
    for tool in TOOLS:
        path = directory / tool
        path.write_text(f'#!/bin/sh\nFAKE_TOOLS_DIR={quote(str(directory))} exec {quote(sys.executable)} {quote(str(FAKE))}'
                        f' {tool} "$@"\n')
        path.chmod(0o755)
    # close_night runs "{tools_bin}/python -m lstosa_snake.web.report": our package, without PyTables
    # (the report's event counts need real HDF5 products; here they are left out, as documented)
    stub = directory / "_no_tables"
    stub.mkdir(exist_ok=True)
    (stub / "tables.py").write_text('raise ImportError("no PyTables with the fake tools")\n')
    # ... except python -m lstosa_snake.jobs.dl1b (the DL1b rules), which counts event types (FAKE_TABLES)
    fake_tables = directory / "_fake_tables"
    fake_tables.mkdir(exist_ok=True)
    (fake_tables / "tables.py").write_text(FAKE_TABLES)
    py = directory / "python"
    # ... and lstchain's calibration plots (python -m lstosa_snake.jobs.calibration_pdfs) are a fake tool
    py.write_text(f'#!/bin/sh\nstub={quote(str(stub))}\n'
                  f'[ "$1 $2" = "-m lstosa_snake.jobs.dl1b" ] && stub={quote(str(fake_tables))}\n'
                  f'[ "$1 $2" = "-m lstosa_snake.jobs.calibration_pdfs" ] && shift 2 &&'
                  f' FAKE_TOOLS_DIR={quote(str(directory))} exec {quote(sys.executable)} {quote(str(FAKE))}'
                  f' calibration_pdfs "$@"\n'
                  f'PYTHONPATH="$stub" exec {quote(sys.executable)} "$@"\n')
    py.chmod(0o755)
    return directory


def toy_summary(night: dt.date = NIGHT, runs: dict[int, int] = TOY_RUNS) -> NightSummary:
    start = dt.datetime.combine(night, dt.time(21, 0))
    ref = TimeReference(3, 1580157904186709543, 5186709300)
    first = min(runs) - 2
    out = [Run(first, 1, "DRS4", start), Run(first + 1, 1, "CALI", start + dt.timedelta(minutes=2))]
    for i, (run, n) in enumerate(sorted(runs.items())):
        out.append(Run(run, n, "DATA", start + dt.timedelta(minutes=10 + 30 * i), ref, ref))
    return NightSummary(night, tuple(out))


#: a raw stand-in: one FITS block (the runner refuses empty or truncated raw files)
RAW_STANDIN = b"SIMPLE  =                    T".ljust(2880, b" ")


def make_toy_night(data_root: Path, night: dt.date = NIGHT, runs: dict[int, int] = TOY_RUNS,
                   with_summary: bool = True) -> NightSummary:
    """Raw stand-in files (one FITS block each), the drive log and (optionally) the night summary."""
    summary = toy_summary(night, runs)
    d = night.strftime("%Y%m%d")
    r0 = data_root / "R0" / d
    r0.mkdir(parents=True, exist_ok=True)
    for run in summary.runs:
        for s in range(run.n_subruns):
            for stream in (1, 2, 3, 4):
                (r0 / f"LST-1.{stream}.Run{run.run_id:05d}.{s:04d}.fits.fz").write_bytes(RAW_STANDIN)
    drive = data_root / "monitoring" / "DrivePositioning" / f"DrivePosition_log_{d}.txt"
    drive.parent.mkdir(parents=True, exist_ok=True)
    drive.write_text("fake drive log\n")
    if with_summary:
        ns = data_root / "monitoring" / "NightSummary" / f"NightSummary_{d}.txt"
        ns.parent.mkdir(parents=True, exist_ok=True)
        ns.write_text(write_night_summary_text(summary))
    return summary


def toy_config_args(tmp_path: Path, tools: Path, dl1b: bool = False) -> list[str]:
    """--config KEY=VALUE items pointing the workflow at the fake tools and a models dir.

    ``dl1b=True``: with the DL1b stages (find_tailcuts and catB_calibration per run, dl1ab per sub-run;
    docs/dl1b.md) run by their fake tools; datacheck and DL2 then read the fake DL1b files."""
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    (models / "fake_model.sav").write_text("fake\n")
    # The Cherenkov transparency reads real HDF5 content, which the fake tools do not write: the
    # operation tests run the chain without it (tests/test_transparency.py runs it with the real
    # tools); DL1b likewise by default (tests/test_dl1b.py runs it with the real tools), with dl1b=True
    # by the fake DL1b tools (the operation layer only)
    dl1b_args = ["dl1ab=True", "apply_catB_calibration=True"] if dl1b else ["dl1ab=False"]
    return [f"tools_bin={tools}", f"models_dir={models}", *dl1b_args, "cherenkov_transparency=False"]


def run_with_timeout(cmd, timeout: float, **kw) -> subprocess.CompletedProcess:
    """Run in a new process group; on timeout kill the whole group (hard) and fail the test."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, **kw)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError(f"timed out after {timeout} s: {cmd}\n{out[-3000:]}") from None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, None)


def cron_env() -> dict:
    """What cron gives a job: next to nothing."""
    return {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "SHELL": "/bin/sh"}


def children(pid: int) -> list[int]:
    """PIDs of the direct children of PID (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out
