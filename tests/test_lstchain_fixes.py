"""The three lstchain 0.12.3 work-arounds of ``lstosa_snake.jobs.lstchain_fixes``.

Each bug has a test that the *original* still misbehaves: when one of the
``test_*_bug_still_present`` or ``test_*_original_fails_fixed_works`` tests fails on the
original, upstream has fixed the bug -- delete the work-around (and its entry point) and
call the lstchain command directly.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from synthetic_fixtures import LST_PYTHON, lst_tool, run_tool

pytestmark = pytest.mark.tools


def lst_python(code: str):
    return run_tool([LST_PYTHON, "-c", textwrap.dedent(code)]).stdout.strip().splitlines()[-1]


# --- 1. lstchain_create_run_summary -------------------------------------------------------


def test_run_summary_bug_still_present():
    assert lst_python("""
        from lstosa_snake.jobs.lstchain_fixes import run_summary_bug_present
        print(run_summary_bug_present())
    """) == "True"


def test_run_summary_patch_removes_the_condition():
    assert lst_python("""
        from lstchain.scripts import lstchain_create_run_summary as s
        from lstosa_snake.jobs.lstchain_fixes import patch_run_summary, run_summary_bug_present
        assert patch_run_summary(s)
        print(run_summary_bug_present(s), s.COUNTER_DEFAULTS["dragon_reference_counter"] == 2**64 - 1)
    """) == "False True"


def test_run_summary_original_fails_fixed_works(synthetic_night, tmp_path):
    n = synthetic_night
    args = ["-d", n.yyyymmdd, "--r0-path", n.root / "R0", "-o", tmp_path]
    original = run_tool([lst_tool("lstchain_create_run_summary"), *args], check=False)
    assert original.returncode != 0
    assert "OverflowError" in original.stdout
    assert not (tmp_path / f"RunSummary_{n.yyyymmdd}.ecsv").exists()

    fixed = run_tool([lst_tool("lstosa-create-run-summary"), *args])
    assert "lstosa-snake work-around: patching lstchain_create_run_summary" in fixed.stdout
    text = (tmp_path / f"RunSummary_{n.yyyymmdd}.ecsv").read_text()
    assert "18446744073709551615" in text  # what numpy < 2 wrote for the -1 default
    assert {"DRS4", "PEDCALIB", "DATA"} <= set(text.replace(",", " ").split())


# --- 2. lstchain_data_create_time_calibration_file ------------------------------------------

PROBE = """
    import warnings; warnings.simplefilter("ignore")
    import numpy as np
    from ctapipe.image.extractor import ImageExtractor
    from ctapipe_io_lst import LSTEventSource
    from lstosa_snake.jobs.lstchain_fixes import _BothGainsExtractor
    subarray = LSTEventSource.create_subarray(tel_id=1)
    ex = ImageExtractor.from_name("LocalPeakWindowSum", subarray=subarray)
    wf = np.random.default_rng(0).normal(0, 1, (2, 1855, 40)).astype(np.float32)
    zero = np.zeros((2, 1855), dtype=np.int64)   # what TimeCorrectionCalculate passes
    broken = np.zeros((2, 1855), dtype=bool)
    {call}
"""


def test_time_calibration_bug_still_present():
    # lstchain's "no gain selection" array makes ctapipe 0.25 return a one-gain image,
    # which lstchain's numba kernel then cannot index as charge[gain, pixel]
    assert lst_python(PROBE.format(call="print(ex(wf, 1, zero, broken).image.shape)")) == "(1855,)"


def test_time_calibration_wrapper_keeps_both_gains():
    out = lst_python(PROBE.format(call="""
    w = _BothGainsExtractor(ex)
    print(w(wf, 1, zero, broken).image.shape, w.bug_seen, w(wf, 1, zero, broken).image.shape)
    """))
    assert out == "(2, 1855) True (2, 1855)"


def test_time_calibration_original_fails_fixed_works(calibrated_night, tmp_path):
    n = calibrated_night
    cali = next(r for r in n.plan["runs"] if r["run_type"] == "CALI")["run"]
    args = [
        "--input-file", n.r0 / f"LST-1.1.Run{cali:05d}.0000.fits.fz",
        "--pedestal-file", n.paths["drs4"], "--run-summary-path", n.paths["run_summary"],
        "--no-progress",
    ]
    original = run_tool([lst_tool("lstchain_data_create_time_calibration_file"), *args,
                         "--output-file", tmp_path / "orig.h5", "--max-events", "40"], check=False)
    assert original.returncode != 0
    assert "TypingError" in original.stdout
    # the fixed tool ran in the calibrated_night fixture on the whole run
    log = n.paths["time_calibration_log"].read_text()
    assert "lstosa-snake work-around: patching lstchain_data_create_time_calibration_file" in log
    assert n.paths["time_calibration"].stat().st_size > 10_000
    summary = lst_python(f"""
        import h5py, numpy as np
        with h5py.File("{n.paths['time_calibration']}") as f:
            fan = f["fan"][()]
            print(fan.shape[0], int(np.isfinite(fan).all()))
    """)
    assert summary == "2 1"


# --- 3. lstchain_merge_hdf5_files on DL2 files ------------------------------------------------

H5_PROBE = Path(__file__).with_name("h5_probe.py")


def dl2_subruns(night) -> list[Path]:
    """The DL2 files of the real-tools night's first DATA run (two sub-runs), made by lstchain_dl1_to_dl2."""
    files = sorted(night.product("DL2", "20200127", "v0.12").glob("dl2_LST-1.Run02003.000?.h5"))
    assert [f.name for f in files] == ["dl2_LST-1.Run02003.0000.h5", "dl2_LST-1.Run02003.0001.h5"]
    return files


def test_merge_bug_still_present(local_night):
    # lstchain_dl1_to_dl2 writes its provenance as a variable-length string dataset PyTables cannot read
    path = dl2_subruns(local_night)[0]
    assert lst_python(f"""
        from lstosa_snake.jobs.lstchain_fixes import unreadable_nodes
        print(unreadable_nodes({str(path)!r}))
    """) == "['/provenance/dl1_to_dl2']"


def test_merge_original_fails_fixed_works(local_night, tmp_path):
    inputs = tmp_path / "inputs"  # as the workflow does: the run's sub-run files alone in a directory
    inputs.mkdir()
    files = dl2_subruns(local_night)
    for f in files:
        (inputs / f.name).symlink_to(f)
    args = ["--input-dir", inputs, "--run-number", "2003", "--no-progress"]
    original = run_tool([lst_tool("lstchain_merge_hdf5_files"), *args, "--output-file", tmp_path / "orig.h5"],
                        check=False)
    assert original.returncode != 0, original.stdout[-3000:]
    assert "IndexError: /provenance" in original.stdout, original.stdout[-3000:]

    fixed = run_tool([lst_tool("lstosa-merge-hdf5-files"), *args, "--output-file", tmp_path / "fixed.h5"])
    assert ("lstosa-snake work-around: lstchain_merge_hdf5_files IndexError on PyTables-unreadable nodes"
            in fixed.stdout and "leaving out ['/provenance/dl1_to_dl2']" in fixed.stdout), fixed.stdout[-3000:]
    probe = run_tool([LST_PYTHON, H5_PROBE, *files, tmp_path / "fixed.h5"]).stdout.strip().splitlines()[-1]
    *parts, merged = json.loads(probe)
    assert merged["kind"] == "dl2" and merged["rows"] == sum(p["rows"] for p in parts) > 0, probe
    assert merged["event_ids"] == [i for p in parts for i in p["event_ids"]]
    assert merged["columns"] == parts[0]["columns"]
    # every node of the inputs is in the merge but the unreadable provenance and what lstchain itself
    # leaves out of a run (the sub-runs' monitoring tables); lstchain adds the list of merged files
    monitoring = {n for n in parts[0]["nodes"] if n.startswith("/dl1/event/telescope/monitoring/")}
    assert monitoring and "/provenance/dl1_to_dl2" in parts[0]["nodes"], probe
    assert set(merged["nodes"]) == (set(parts[0]["nodes"]) - {"/provenance/dl1_to_dl2"} - monitoring
                                    | {"/source_filenames/filenames"}), probe
