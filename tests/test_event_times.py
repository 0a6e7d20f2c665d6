"""Event times of text-format nights: the Dragon reference of the seed NightSummary converted to
lstchain's RunSummary (``lstosa_snake.night.summary_writer``), module id <-> data index.

Unmarked tests need only the standard library. The ``tools`` test writes a synthetic EVBv5 night
(the format whose event times come from the Dragon counters and the run summary's reference; in CTA
R1v1 data the tools read the time from the event itself), converts its NightSummary with the
workflow's command and runs lstchain's calibration and r0_to_dl1 on it: DL1 event times must equal
the generator's truth to 1 µs.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
import textwrap

import pytest

from lstosa_snake.night.nightsummary import parse_night_summary_text
from lstosa_snake.night.summary_writer import (
    FALLBACK_MODULE_INDEX, ModuleReference, find_reference_module, match_module, reference_modules,
    write_run_summary_ecsv,
)
from synthetic_fixtures import CONFIG_DIR, LST_PYTHON, _need_tools, lst_tool, run_tool

NIGHT = dt.date(2020, 1, 27)
SEED_TEXT = (
    "01874  194 DATA  2020-01-27 20:44:13 0003 1580157904186709543 5186709300 0003 1580157904186709543 5186708700\n"
    "01875  209 DATA  2020-01-27 21:05:44 0003 1580159197411578464 7411578200 nan nan nan\n"
)


def _ecsv_rows(text: str) -> dict[int, dict]:
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return {int(r["run_id"]): r for r in csv.DictReader(lines)}


# --- fast: the id -> index conversion -----------------------------------------------------


def test_match_module_returns_data_index_not_id():
    # module ids in readout order, as in a camera configuration: id 132 sits at index 2
    module_ids = [90, 7, 132, 3]
    counters = [5_186_705_300, 5_186_709_300, 5_186_709_300, 5_186_709_300]
    status = [1, 0, 1, 1]  # index 1 has the right counter but is switched off
    assert match_module(counters, status, module_ids, 5_186_709_300) == (2, 132)
    assert match_module(counters, status, module_ids, 1) is None


def test_ecsv_carries_index_and_id_and_keeps_tib():
    summary = parse_night_summary_text(SEED_TEXT, "NightSummary_20200127.txt", NIGHT)
    modules = {1874: ModuleReference(module_index=111, module_id=132, event_id=3, data_format="ProtoR1.CameraEvent",
                                     source="LST-1.1.Run01874.0000.fits.fz")}
    rows = _ecsv_rows(write_run_summary_ecsv(summary, modules=modules))
    r = rows[1874]
    assert (r["dragon_reference_module_index"], r["dragon_reference_module_id"]) == ("111", "132")
    assert r["dragon_reference_time"] == "1580157904186709543" and r["dragon_reference_counter"] == "5186709300"
    assert r["data_format"] == "ProtoR1.CameraEvent" and r["dragon_reference_source"] == "ucts"
    # run start 20:44:13 UTC as lstchain writes it: TAI ns
    assert r["run_start"] == str((int(dt.datetime(2020, 1, 27, 20, 44, 13, tzinfo=dt.timezone.utc).timestamp()) + 37)
                                 * 10**9)
    # the text's 4th field is the first valid event, kept, never used as a module
    assert r["dragon_reference_event_id"] == "3" and r["tib_reference_event_id"] == "3"
    assert (r["tib_reference_time"], r["tib_reference_counter"]) == ("1580157904186709543", "5186708700")
    # run 1875: not looked up -> documented fallback, unknown id; its missing TIB stays -1
    r = rows[1875]
    assert (r["dragon_reference_module_index"], r["dragon_reference_module_id"]) == (str(FALLBACK_MODULE_INDEX), "-1")
    assert (r["tib_reference_time"], r["tib_reference_counter"]) == ("-1", "-1")
    assert r["data_format"] == "-"


def test_reference_lookup_falls_back_with_reason(tmp_path):
    summary = parse_night_summary_text(SEED_TEXT, "NightSummary_20200127.txt", NIGHT)
    ref = summary.run(1874).dragon
    found = find_reference_module(tmp_path, 1874, ref)
    assert found.module_index == FALLBACK_MODULE_INDEX and found.module_id == -1
    assert "LST-1.*.Run01874.0000" in found.source and str(tmp_path) in found.source
    log = tmp_path / "log"
    with log.open("w") as f:
        reference_modules(summary, None, log=f)
    assert "run 01874: Dragon reference module index 0 assumed" in log.read_text()


def test_converter_cli_without_raw_data(tmp_path):
    text = tmp_path / "NightSummary_20200127.txt"
    text.write_text(SEED_TEXT)
    out = tmp_path / "RunSummary.ecsv"
    proc = subprocess.run([sys.executable, "-m", "lstosa_snake.night.summary_writer", "--to-ecsv", text, "--date",
                           "2020-01-27", "--r0-dir", tmp_path / "R0", "--output", out],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "run 01874: Dragon reference module index 0 assumed" in proc.stderr
    assert _ecsv_rows(out.read_text())[1874]["dragon_reference_module_index"] == "0"


# --- tools: DL1 event times against the truth ---------------------------------------------

#: DRS4 run (>= 500 events, required by the generator, unused), a small calibration run, one
#: DATA run of 2 sub-runs; EVBv5 data of 2020
NIGHT_ARGS = dict(seed=11, first_run=4001, data_runs=1, subruns=2, events_per_subrun=40,
                  drs4_events=500, cali_events=300)

CHECK = textwrap.dedent("""
    import csv, json, sys
    import numpy as np, tables
    from astropy.table import Table
    from astropy.time import Time
    from ctapipe_io_lst import LSTEventSource
    from traitlets.config import Config

    dl1, truth_csv, r0, bad_summary = sys.argv[1:5]
    truth = {int(r["event_id"]): int(r["true_time_tai_ns"]) for r in csv.DictReader(open(truth_csv))}
    def truth_unix(ids):  # TAI ns -> UTC unix seconds, as r0_to_dl1 writes dragon_time
        ns = np.array([truth[i] for i in ids], dtype=np.int64)
        return Time(ns // 10**9, (ns % 10**9) / 1e9, format="unix_tai").unix
    with tables.open_file(dl1) as f:
        p = f.root.dl1.event.telescope.parameters.LST_LSTCam.read()
    ids = [int(i) for i in p["event_id"]]
    dl1_err = np.abs(p["dragon_time"] - truth_unix(ids))

    # negative control: the old conversion (index = the text's 4th field) on the same file
    c = Config()
    c.LSTEventSource.apply_drs4_corrections = False
    c.LSTEventSource.pointing_information = False
    c.LSTEventSource.EventTimeCalculator.run_summary_path = bad_summary
    with LSTEventSource(r0, config=c, max_events=10) as src:
        ev = [(e.index.event_id, e.trigger.time.unix) for e in src]
    bad_err = np.abs(np.array([t for _, t in ev]) - truth_unix([i for i, _ in ev]))
    print(json.dumps({"ids": ids, "dl1_max_err_s": float(dl1_err.max()), "bad_min_err_s": float(bad_err.min())}))
""")


@pytest.mark.tools
def test_dl1_event_times_match_truth(tmp_path):
    _need_tools()
    root = tmp_path / "data"
    args = [lst_tool("lstosa-make-night"), "--output", root, "--date", NIGHT.isoformat(), "--data-format", "LSTCAM",
            "--no-progress"]
    for k, v in NIGHT_ARGS.items():
        args += [f"--{k.replace('_', '-')}", v]
    run_tool(args, log=tmp_path / "make_night.log")
    yyyymmdd = NIGHT.strftime("%Y%m%d")
    r0_dir = root / "R0" / yyyymmdd
    text = root / "monitoring" / "NightSummary" / f"NightSummary_{yyyymmdd}.txt"
    plan = json.loads((root / "synthetic_truth" / yyyymmdd / "night.json").read_text())
    cali, data = (next(r for r in plan["runs"] if r["run_type"] == t) for t in ("CALI", "DATA"))
    first = data["first_event"]
    # the generator's text: event id (not a module) in the 4th field; the counter is module 132's,
    # which is not stored at index 132 (nor at index 0, the fallback)
    line = next(x for x in text.read_text().splitlines() if x.startswith(f"{data['run']:05d}"))
    assert line.split()[5] == f"{first['event_id']:04d}" and line.split()[7] == str(first["dragon_ns"])
    assert first["dragon_module_id"] == 132 and first["dragon_module_index"] not in (0, 132)

    # 1. the workflow's conversion (rule run_summary_ecsv) with the tools' Python
    summary = tmp_path / "RunSummary_derived.ecsv"
    proc = run_tool([LST_PYTHON, "-m", "lstosa_snake.night.summary_writer", "--to-ecsv", text, "--date", NIGHT.isoformat(),
                     "--r0-dir", r0_dir, "--output", summary], log=tmp_path / "convert.log")
    row = _ecsv_rows(summary.read_text())[data["run"]]
    assert int(row["dragon_reference_module_index"]) == first["dragon_module_index"]
    assert int(row["dragon_reference_module_id"]) == 132 and row["data_format"] == "ProtoR1.CameraEvent"
    assert "assumed" not in proc.stdout
    bad = tmp_path / "RunSummary_old_conversion.ecsv"  # what the old conversion wrote: index = 4th field
    bad.write_text(summary.read_text().replace(
        f",132,{first['dragon_module_index']},{first['dragon_ns']},", f",1,1,{first['dragon_ns']},"))
    assert bad.read_text() != summary.read_text()

    # 2. lstchain: charge calibration from the calibration run, then r0_to_dl1 on the DATA run's
    #    SECOND sub-run (its times rest on the run summary's reference from sub-run 0). EVBv5 data
    #    need the DRS4 baseline from the DRS4 run (the reader applies it); no time calibration.
    drs4 = next(r for r in plan["runs"] if r["run_type"] == "DRS4")["run"]
    pedestal = tmp_path / "drs4_pedestal.h5"
    run_tool([lst_tool("lstchain_create_drs4_pedestal_file"), "--input", r0_dir / f"LST-1.1.Run{drs4:05d}.0000.fits.fz",
              "--output", pedestal, "--no-progress"], log=tmp_path / "drs4_pedestal.log")
    cal_config = json.loads((CONFIG_DIR / "calibration.json").read_text())
    cal_config["PedestalIntegrator"]["sample_size"] = 50
    cal_config["FlasherFlatFieldCalculator"]["sample_size"] = 100
    (tmp_path / "calibration.json").write_text(json.dumps(cal_config))
    calibration = tmp_path / "calibration.h5"
    cali_r0 = r0_dir / f"LST-1.1.Run{cali['run']:05d}.0000.fits.fz"
    run_tool([lst_tool("lstchain_create_calibration_file"), f"--input_file={cali_r0}",
              f"--output_file={calibration}", "--LSTEventSource.default_trigger_type=tib",
              f"--LSTEventSource.LSTR0Corrections.drs4_pedestal_path={pedestal}",
              f"--LSTEventSource.EventTimeCalculator.run_summary_path={summary}",
              f"--config={tmp_path / 'calibration.json'}"], log=tmp_path / "calibration.log")
    r0 = r0_dir / f"LST-1.1.Run{data['run']:05d}.0001.fits.fz"
    run_tool([lst_tool("lstchain_data_r0_to_dl1"), "--input-file", r0, "--output-dir", tmp_path / "dl1",
              "--config", CONFIG_DIR / "lstchain_config.json", "--pedestal-file", pedestal,
              "--calibration-file", calibration,
              "--pointing-file", root / "monitoring" / "DrivePositioning" / f"DrivePosition_log_{yyyymmdd}.txt",
              "--run-summary-path", summary], log=tmp_path / "r0_to_dl1.log")
    dl1 = tmp_path / "dl1" / f"dl1_LST-1.Run{data['run']:05d}.0001.h5"

    # 3. DL1 dragon_time (UTC unix s) against the truth (UCTS TAI ns of each trigger)
    truth = root / "synthetic_truth" / yyyymmdd / f"truth_LST-1.Run{data['run']:05d}.0001.csv"
    out = subprocess.run([LST_PYTHON, "-c", CHECK, dl1, truth, r0, bad], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert sorted(res["ids"]) == list(range(41, 81))  # every event of sub-run 1
    assert res["dl1_max_err_s"] < 1e-6, res
    # the old conversion's index picks another module: times off by far more than the tolerance
    assert res["bad_min_err_s"] > 10e-6, res
