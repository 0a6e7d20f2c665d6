"""A legacy_raw night (both gains in the DATA files) through the real gain selection and r0_to_dl1.

The night is the end-to-end night (``local_night``: same seed, runs and events) written in the
legacy_raw state. Its calibration runs are the same bytes in both states, so the calibration files
of ``local_night`` are reused; the workflow then gain-selects every DATA sub-run with the real
``lstchain_r0_to_r0g`` and runs the real r0_to_dl1 on the R0G files. Against truth: R0G picks, pixel
by pixel, the gain the tool's threshold implies; DL1 has the same events as the gain_selected night
and the same image intensities.
"""
from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from e2e_fixtures import E2E_NIGHT, EXCLUDED, night_config, raw_snapshot
from slurm_fixtures import REPO, clean_env, run_snakemake
from synthetic_fixtures import LST_PYTHON, make_night, run_tool

pytestmark = [pytest.mark.tools, pytest.mark.e2e]

DATE = "20200127"
PROD = "v0.12"
#: lstchain_r0_to_r0g (lstchain 0.12.3): low gain where the high gain's raw maximum over samples 3..38
#: exceeds 3900 ADC (baseline included); our generator's event builder uses a lower threshold
THRESHOLD, FIRST, LAST = 3900, 3, 39


@pytest.fixture(scope="module")
def legacy_night(local_night, tmp_path_factory):
    root = tmp_path_factory.mktemp("legacy_raw")
    data, work = root / "data", root / "work"
    make_night(data, **E2E_NIGHT, input_state="legacy_raw")
    # the calibration runs are identical in both states: reuse the end-to-end night's calibration
    # (copied, not linked: fresh times, so Snakemake sees them up to date; the RunSummary first)
    ecsv = Path("running_analysis") / DATE / f"RunSummary_{DATE}.ecsv"
    (data / ecsv).parent.mkdir(parents=True)
    shutil.copy(local_night.data_root / ecsv, data / ecsv)
    shutil.copytree(local_night.data_root / "monitoring" / "PixelCalibration", data / "monitoring" / "PixelCalibration",
                    copy_function=shutil.copy)
    raw_before = raw_snapshot(data)
    tags = [f"{r:05d}.{s:04d}" for r in (2003, 2004) for s in range(E2E_NIGHT["subruns"])
            if f"{r:05d}.{s:04d}" != EXCLUDED]
    targets = [str(data / "DL1" / DATE / PROD / f"dl1_LST-1.Run{t}.h5") for t in tags]
    work.mkdir()
    result = run_snakemake(["--snakefile", REPO / "Snakefile", "--directory", work, "--cores", "2",
                            *night_config(data, local_night.models), "--", *targets],
                           cwd=work, timeout=900, env=clean_env())
    assert result.returncode == 0, str(result)
    return {"data": data, "tags": tags, "result": result, "raw_before": raw_before, "reference": local_night}


def test_every_data_subrun_gain_selected_into_r0g_raw_untouched(legacy_night):
    data = legacy_night["data"]
    r0, r0g = data / "R0" / DATE, data / "R0G" / DATE
    expected = {f"LST-1.{k}.Run{t}.fits.fz" for t in legacy_night["tags"] for k in (1, 2, 3, 4)}
    assert {p.name for p in r0g.iterdir()} == expected  # DATA only: no calibration run, no excluded sub-run
    for name in expected:  # one gain of physics events instead of two: clearly smaller
        assert (r0g / name).stat().st_size < 0.8 * (r0 / name).stat().st_size
    assert raw_snapshot(data) == legacy_night["raw_before"]  # R0 never written
    assert not list((data / "running_analysis" / DATE / "gain_selection" / "staging").glob("**/*.fits.fz"))
    # the tool's log where LSTOSA keeps it, the job's benchmark like every other rule's
    for t in legacy_night["tags"]:
        log = (data / "R0G" / "log" / DATE / f"r0_to_r0g_{t}.log").read_text()
        assert "R0 to R0G conversion finished successfully" in log
        bench = data / "running_analysis" / DATE / "gain_selection" / "benchmarks" / f"gain_selection.Run{t}.tsv"
        assert float(bench.read_text().splitlines()[1].split("\t")[0]) > 0


PIXEL_CHECK = textwrap.dedent("""
    import json, sys
    import numpy as np, protozfits
    r0, r0g, threshold, first, last = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    out = dict(physics=0, interleaved_two_gain=0, low_gain=0, wrong_gain=0, wrong_waveform=0, status_bits_bad=0)
    with protozfits.File(r0) as fa, protozfits.File(r0g) as fb:
        for ea, eb in zip(fa.Events, fb.Events):
            assert ea.event_id == eb.event_id
            npix, ns = ea.num_pixels, ea.num_samples
            wa = ea.waveform.reshape(ea.num_channels, npix, ns)
            if ea.event_type != 32:  # interleaved pedestal and flat-field events keep both gains
                out["interleaved_two_gain"] += int(eb.num_channels == 2)
                continue
            assert ea.num_channels == 2 and eb.num_channels == 1
            out["physics"] += 1
            expected_low = wa[0, :, first:last].max(axis=1) > threshold
            status = eb.pixel_status
            chosen_low = (status & 8) != 0  # LG stored; HG stored is bit 2 (4)
            out["status_bits_bad"] += int((((status & 4) != 0) == chosen_low).sum())
            out["low_gain"] += int(chosen_low.sum())
            out["wrong_gain"] += int((chosen_low != expected_low).sum())
            wb = eb.waveform.reshape(npix, ns)
            out["wrong_waveform"] += int((wb != np.where(expected_low[:, None], wa[1], wa[0])).any(axis=1).sum())
    print(json.dumps(out))
""")


def test_r0g_keeps_per_pixel_the_gain_the_threshold_implies(legacy_night):
    data = legacy_night["data"]
    total = {}
    for t in legacy_night["tags"]:
        for k in (1, 2, 3, 4):
            name = f"LST-1.{k}.Run{t}.fits.fz"
            proc = run_tool([REPO / ".venv" / "bin" / "python", "-c", PIXEL_CHECK, data / "R0" / DATE / name,
                             data / "R0G" / DATE / name, THRESHOLD, FIRST, LAST])
            for key, v in json.loads(proc.stdout.strip().splitlines()[-1]).items():
                total[key] = total.get(key, 0) + v
    plan = json.loads((data / "synthetic_truth" / DATE / "night.json").read_text())
    per_type = {f"{r['run']:05d}.{s:04d}": c for r in plan["runs"] if r["run_type"] == "DATA"
                for s, c in enumerate(r["events_per_subrun_per_type"])}
    assert total["physics"] == sum(per_type[t].get("SUBARRAY", 0) for t in legacy_night["tags"])
    assert total["interleaved_two_gain"] > 0
    assert total["low_gain"] >= 5  # bright pixels exist, so the comparison below is not empty
    assert total["wrong_gain"] == 0 and total["wrong_waveform"] == 0 and total["status_bits_bad"] == 0


COMPARE = textwrap.dedent("""
    import json, sys
    import numpy as np, pandas as pd
    ref_dir, dl1_dir, truth_dir, tags = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    key = "dl1/event/telescope/parameters/LST_LSTCam"
    out, frames = {"events": {}, "same_ids_and_types": True}, []
    for tag in tags:
        a = pd.read_hdf(f"{ref_dir}/dl1_LST-1.Run{tag}.h5", key)
        b = pd.read_hdf(f"{dl1_dir}/dl1_LST-1.Run{tag}.h5", key)
        out["events"][tag] = [len(a), len(b)]
        m = a.merge(b, on="event_id", suffixes=("_a", "_b"))
        out["same_ids_and_types"] &= bool(len(m) == len(a) == len(b) and (m.event_type_a == m.event_type_b).all())
        frames.append(m.merge(pd.read_csv(f"{truth_dir}/truth_LST-1.Run{tag}.csv"), on="event_id"))
    m = pd.concat(frames)
    showers = m[m.event_type_a == 32]
    out["showers_with_image"] = [int(np.isfinite(showers.intensity_a).sum()), int(np.isfinite(showers.intensity_b).sum())]
    s = showers[np.isfinite(showers.intensity_a) & np.isfinite(showers.intensity_b)]
    ratio = s.intensity_b / s.intensity_a
    out["ratio_median"] = float(ratio.median())
    out["ratio_within_5pct"] = float((abs(ratio - 1) < 0.05).mean())
    bright = s[s.true_intensity_pe > 1000]
    out["n_bright"] = len(bright)
    out["truth_ratio_bright"] = float((bright.intensity_b / bright.true_intensity_pe).median())
    print(json.dumps(out))
""")


def test_dl1_from_r0g_matches_the_gain_selected_night(legacy_night):
    ref = legacy_night["reference"].data_root / "DL1" / DATE / PROD
    dl1 = legacy_night["data"] / "DL1" / DATE / PROD
    truth = legacy_night["data"] / "synthetic_truth" / DATE
    proc = run_tool([LST_PYTHON, "-c", COMPARE, ref, dl1, truth, json.dumps(legacy_night["tags"])])
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    per_subrun = E2E_NIGHT["events_per_subrun"]
    assert r["events"] == {t: [per_subrun, per_subrun] for t in legacy_night["tags"]}
    assert r["same_ids_and_types"]
    assert r["showers_with_image"][0] == r["showers_with_image"][1] > 0
    # the two gain selections differ only in a few bright pixels, which both calibrate to p.e.
    # (measured: median 1.000, every image within 5 %)
    assert r["ratio_median"] == pytest.approx(1.0, abs=0.01)
    assert r["ratio_within_5pct"] >= 0.95
    # and against truth, today's tolerance of the gain_selected chain (test_synthetic.py)
    assert r["n_bright"] >= 5 and 0.85 < r["truth_ratio_bright"] < 1.15


def test_status_and_report_say_the_state(legacy_night):
    data = legacy_night["data"]
    status = run_tool([REPO / ".venv" / "bin" / "lstosa-status", "--date", "2020-01-27", "--data-root", data])
    assert "raw data: legacy_raw (read from the raw files of run(s) 02003, 02004)" in status.stdout
    from lstosa_snake.night.plan import plan_night
    from lstosa_snake.web.report import gain_selection_summary

    config = {"date": "2020-01-27", "data_root": str(data), "prod_id": PROD, "calibration_version": "v0.12.3",
              "exclude_subruns": [EXCLUDED]}
    summary = gain_selection_summary(plan_night(config, REPO))
    assert summary["r0g_dir"] == str(data / "R0G" / DATE)
    assert sum(r["r0g_files"] for r in summary["runs"]) == 4 * len(legacy_night["tags"])
    r0g_bytes = sum(p.stat().st_size for p in (data / "R0G" / DATE).iterdir())
    assert summary["r0g_bytes"] == r0g_bytes and 0.2 < summary["saved_fraction"] < 0.8
