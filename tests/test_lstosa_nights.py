"""Real LSTOSA nights (tests/data/lstosa, see its README): planned as LSTOSA plans them under
``last_of_night``, and as documented under our default ``closest_before``."""

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from lstosa_snake.core.errors import SequenceError
from lstosa_snake.night.plan import plan_night
from lstosa_snake.night.nightsummary import read_night_summary
from lstosa_snake.night.paths import NightPaths

DATA = Path(__file__).parent / "data" / "lstosa"


def install(root: Path, source: Path, night: dt.date, raw: bool = True, skip_raw=()) -> Path:
    """Put a summary where the workflow looks for it, and empty raw files for its runs (the plan
    only looks at the names)."""
    d = night.strftime("%Y%m%d")
    if source.suffix == ".txt":
        dest = root / "monitoring" / "NightSummary" / f"NightSummary_{d}.txt"
    else:
        dest = root / "monitoring" / "RunSummary" / f"RunSummary_{d}.ecsv"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, dest)
    if raw:
        r0 = root / "R0" / d
        r0.mkdir(parents=True, exist_ok=True)
        summary = read_night_summary(dest, night, check_dates=False)
        for run in summary.runs:
            if run.run_id in skip_raw:
                continue
            for s in range(run.n_subruns):
                for stream in (1, 2, 3, 4):
                    (r0 / f"LST-1.{stream}.Run{run.run_id:05d}.{s:04d}.fits.fz").touch()
    return dest


def config(root: Path, night: dt.date, policy: str, **kw) -> dict:
    c = {
        "date": night.isoformat(),
        "data_root": str(root),
        "output_root": None,
        "prod_id": "v0.12",
        "calibration_version": "v0.12.3",
        "calibration_policy": policy,
        "calibration_lookback_nights": 4,
    }
    c.update(kw)
    return c


def pairs(plan) -> dict[int, tuple[int, int]]:
    return {r: (rp.calibration.drs4_run, rp.calibration.cali_run) for r, rp in plan.runs.items()}


def subruns(plan) -> dict[int, int]:
    return {r: len(rp.subruns) for r, rp in plan.runs.items()}


# --------------------------------------------------------------------------- 27-run night, 2020-01-17

N0117 = dt.date(2020, 1, 17)
SUBRUNS_0117 = {1807: 19, 1808: 35, 1809: 18, 1810: 5, 1812: 2, 1813: 1, 1814: 48, 1815: 82, 1816: 83,
                1817: 71, 1818: 72, 1819: 96, 1820: 77, 1821: 47, 1822: 102, 1823: 68, 1824: 79, 1825: 69,
                1826: 6, 1827: 1}


def test_real_27_run_night_last_of_night_is_lstosa(tmp_path):
    """LSTOSA: the last DRS4 (1804) and last PEDCALIB (1829) serve every DATA run; ERROR run 1811 is
    not processed (here: skipped with its line)."""
    install(tmp_path, DATA / "extra" / "RunSummary_20200117.ecsv", N0117)
    plan = plan_night(config(tmp_path, N0117, "last_of_night"), tmp_path)
    assert subruns(plan) == SUBRUNS_0117
    assert set(pairs(plan).values()) == {(1804, 1829)}
    assert plan.calibrations_tonight == {1829: 1804}
    assert [(c.drs4_run, c.cali_run) for c in plan.unused_calibrations] == [(1804, 1805), (1804, 1806), (1804, 1828)]
    assert [(k.line, k.run_id) for k in plan.summary.skipped] == [(28, 1811)]
    assert "ERROR marks the run as bad" in plan.summary.skipped[0].reason


def test_real_27_run_night_closest_before(tmp_path):
    """Ours: every DATA run was taken between PEDCALIB 1806 and 1828, so 1806 (with DRS4 1804) serves them;
    the PEDCALIB runs 1828/1829 taken after the last DATA run are unused."""
    install(tmp_path, DATA / "extra" / "RunSummary_20200117.ecsv", N0117)
    plan = plan_night(config(tmp_path, N0117, "closest_before"), tmp_path)
    assert subruns(plan) == SUBRUNS_0117
    assert set(pairs(plan).values()) == {(1804, 1806)}
    assert [(c.drs4_run, c.cali_run) for c in plan.unused_calibrations] == [(1804, 1805), (1804, 1828), (1804, 1829)]


def test_data_run_without_raw_files_is_missing_raw_data(tmp_path):
    install(tmp_path, DATA / "extra" / "RunSummary_20200117.ecsv", N0117, skip_raw={1815})
    plan = plan_night(config(tmp_path, N0117, "closest_before", exclude_runs=[1816]), tmp_path)
    assert plan.missing_raw_runs == [1815]
    assert plan.excluded_runs == [1816]
    assert 1815 not in plan.runs and 1816 not in plan.runs and len(plan.runs) == len(SUBRUNS_0117) - 2


def test_calibration_only_night_calibrates_its_last_pair(tmp_path):
    """DRS4 and PEDCALIB runs, no DATA run: the last pair is made, for the nights after it."""
    text = (DATA / "extra" / "RunSummary_20200117.ecsv").read_text().splitlines()
    only_cal = [ln for ln in text if ",DATA," not in ln]
    src = tmp_path / "RunSummary_20200117.ecsv"
    src.write_text("\n".join(only_cal) + "\n")
    plan = plan_night(config(tmp_path / "root", N0117, "closest_before"),
                      tmp_path, install(tmp_path / "root", src, N0117))
    assert plan.runs == {}
    assert plan.calibrations_tonight == {1829: 1804}
    assert plan.calibration_only
    assert [c.cali_run for c in plan.unused_calibrations] == [1805, 1806, 1828]


# --------------------------------------------------------------------------- LSTOSA's test fixtures


def test_conftest_night_and_run_catalog(tmp_path):
    """LSTOSA's fixture night: DRS4 1804 + PEDCALIB 1809 for DATA 1807 (11 sub-runs) and 1808 (9)."""
    install(tmp_path, DATA / "conftest" / "RunSummary_20200117.ecsv", N0117)
    catalog = tmp_path / "monitoring" / "RunCatalog" / "RunCatalog_20200117.ecsv"
    catalog.parent.mkdir(parents=True)
    shutil.copy(DATA / "conftest" / "RunCatalog_20200117.ecsv", catalog)
    for policy in ("last_of_night", "closest_before"):
        plan = plan_night(config(tmp_path, N0117, policy), tmp_path)
        assert subruns(plan) == {1807: 11, 1808: 9}
        # 1809 is a copy of 1806's row (same start) with a higher run id: last before the DATA runs too
        assert pairs(plan) == {1807: (1804, 1809), 1808: (1804, 1809)}, policy
    entry = plan.catalog[1807]
    assert (entry.source_name, entry.source_ra, entry.source_dec) == ("Crab", 83.543, 22.08)
    assert plan.catalog[1808].source_name == "MadeUpSource"


N0923 = dt.date(2022, 9, 23)
N0922 = dt.date(2022, 9, 22)


def test_no_pedcalib_tonight_takes_the_earlier_nights_pedcalib(tmp_path):
    """LSTOSA's test_no_calib_found: tonight DATA 9379, DRS4 9380 and 9381, no PEDCALIB; the night before
    has PEDCALIB 9258 (and a bad ERRPEDCALIB 9327). LSTOSA pairs tonight's last DRS4 (9381) with 9258."""
    install(tmp_path, DATA / "conftest" / "RunSummary_20220923.ecsv", N0923)
    earlier = install(tmp_path, DATA / "conftest" / "RunSummary_20220922.ecsv", N0922)
    plan = plan_night(config(tmp_path, N0923, "last_of_night"), tmp_path)
    cal = plan.runs[9379].calibration
    assert (cal.drs4_run, cal.cali_run, cal.cali_night, cal.date, cal.borrowed) == (9381, 9258, N0922, N0923, False)
    assert subruns(plan) == {9379: 21}
    assert plan.calibrations_tonight == {9258: 9381}
    assert plan.cali_r0_dir(9258) == tmp_path / "R0" / "20220922"
    assert plan.earlier_cali_inputs[9258][1] == earlier
    # the calibration is made tonight, into tonight's directory: the earlier night's files stay untouched
    assert plan.calibration_files(9379)["charge_calibration"].parts[-3] == "20220923"
    # ours: the DRS4 run closest before the first DATA run, else the first after it (9379 was taken first)
    plan = plan_night(config(tmp_path, N0923, "closest_before"), tmp_path)
    assert pairs(plan) == {9379: (9380, 9258)}


def test_earlier_pedcalib_without_raw_files_borrows_finished_files_or_stops(tmp_path):
    install(tmp_path, DATA / "conftest" / "RunSummary_20220923.ecsv", N0923)
    install(tmp_path, DATA / "conftest" / "RunSummary_20220922.ecsv", N0922, raw=False)
    with pytest.raises(SequenceError, match="no earlier night within 4 nights holds a PEDCALIB run with raw files "
                                            r"or complete calibration files \(tonight: DRS4 runs only\)"):
        plan_night(config(tmp_path, N0923, "last_of_night"), tmp_path)
    earlier = NightPaths(tmp_path, tmp_path, N0922, "v0.12", "v0.12.3")
    for f in (earlier.drs4_pedestal(9326), earlier.charge_calibration(9258), earlier.time_calibration(9258)):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"x")
    plan = plan_night(config(tmp_path, N0923, "last_of_night"), tmp_path)
    cal = plan.runs[9379].calibration
    assert (cal.drs4_run, cal.cali_run, cal.date, cal.borrowed) == (9326, 9258, N0922, True)
    assert plan.calibrations_tonight == {}


def test_bad_rows_of_a_real_night_are_skipped(tmp_path):
    """In LSTOSA's 2022-09-22 fixture, PEDCALIB 9258 starts on 2022-09-21 (a row of the night before) and
    9327 is ERRPEDCALIB: both are skipped and reported; the DRS4 run alone makes no calibration."""
    install(tmp_path, DATA / "conftest" / "RunSummary_20220922.ecsv", N0922)
    plan = plan_night(config(tmp_path, N0922, "closest_before"), tmp_path)
    assert [(k.line, k.run_id) for k in plan.summary.skipped] == [(21, 9327), (22, 9258)]
    assert "starts on 2022-09-21, which is not in the night of 2022-09-22" in plan.summary.skipped[1].reason
    assert plan.runs == {} and plan.calibrations_tonight == {} and not plan.calibration_only


def test_merged_summary_gives_a_night_without_its_own_summary(tmp_path):
    """LSTOSA's merged RunSummary (space-delimited, ISO run_start): night 2019-11-23 from it alone."""
    merged = tmp_path / "OSA" / "Catalog" / "merged_RunSummary.ecsv"
    merged.parent.mkdir(parents=True)
    shutil.copy(DATA / "conftest" / "merged_RunSummary.ecsv", merged)
    night = dt.date(2019, 11, 23)
    r0 = tmp_path / "R0" / "20191123"
    r0.mkdir(parents=True)
    for run, n in ((1611, 5), (1614, 10), (1615, 61), (1616, 62)):
        for s in range(n):
            for stream in (1, 2, 3, 4):
                (r0 / f"LST-1.{stream}.Run{run:05d}.{s:04d}.fits.fz").touch()
    for policy in ("last_of_night", "closest_before"):
        plan = plan_night(config(tmp_path, night, policy, merged_summary=str(merged)), tmp_path)
        assert plan.summary.fmt == "merged" and plan.summary.path == str(merged)
        assert subruns(plan) == {1615: 61, 1616: 62}
        assert pairs(plan) == {1615: (1611, 1614), 1616: (1611, 1614)}
    # 2020-01-17 in the merged file: LSTOSA's last DRS4 1804 + last PEDCALIB 1809 (all DATA at the same time)
    plan = plan_night(config(tmp_path, N0117, "last_of_night", merged_summary=str(merged)), tmp_path)
    data = [s for s in plan.sequences if s.kind == "DATA"]
    assert [(s.run.run_id, s.calibration.drs4_run, s.calibration.cali_run) for s in data] == [
        (1807, 1804, 1809), (1808, 1804, 1809)]
    assert plan.missing_raw_runs == [1807, 1808]  # no raw files were made for that night


# --------------------------------------------------------------------------- the seed night (LSTOSA's docs)


def test_seed_night_from_lstosa_docs(tmp_path):
    """docs/howto/index.rst: CALI sequence 0 (DRS4 1872 + CALI 1873), DATA 1874-1881 its children."""
    install(tmp_path, DATA / "howto" / "NightSummary_20200127.txt", dt.date(2020, 1, 27))
    for policy in ("last_of_night", "closest_before"):
        plan = plan_night(config(tmp_path, dt.date(2020, 1, 27), policy), tmp_path)
        assert subruns(plan) == {1874: 194, 1875: 209, 1876: 225, 1877: 202, 1878: 74, 1879: 207, 1880: 203,
                                 1881: 207}
        assert set(pairs(plan).values()) == {(1872, 1873)}
        seqs = [(s.seq, s.parent, s.kind, s.run.run_id) for s in plan.sequences]
        assert seqs[0] == (0, None, "CALI", 1873)
        assert seqs[1:] == [(i, 0, "DATA", run) for i, run in enumerate(range(1874, 1882), start=1)]


# --------------------------------------------------------------------------- the workflow plans them (dry runs)

ROOT = Path(__file__).resolve().parents[1]


def dry_run(root: Path, night: dt.date, *extra):
    import subprocess
    import sys

    cfg = root / "lstchain.json"
    cfg.write_text("{}")
    (root / "models").mkdir(exist_ok=True)
    drive = root / "monitoring" / "DrivePositioning" / f"DrivePosition_log_{night:%Y%m%d}.txt"
    drive.parent.mkdir(parents=True, exist_ok=True)
    drive.touch()
    cmd = [str(Path(sys.executable).with_name("snakemake")), "--snakefile", str(ROOT / "Snakefile"),
           "--directory", str(ROOT), "-n", "-p", "--cores", "2", "--config", f"date={night}", f"data_root={root}",
           f"models_dir={root / 'models'}", f"lstchain_config={cfg}", f"calibration_config={cfg}",
           f"time_calibration_config={cfg}", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_workflow_calibrates_with_the_earlier_nights_pedcalib(tmp_path):
    """The calibration jobs read PEDCALIB 9258 from R0/20220922 with that night's RunSummary, and tonight's
    DRS4 9381; the products go to tonight's calibration directory."""
    install(tmp_path, DATA / "conftest" / "RunSummary_20220923.ecsv", N0923)
    earlier = install(tmp_path, DATA / "conftest" / "RunSummary_20220922.ecsv", N0922)
    res = dry_run(tmp_path, N0923, "calibration_policy=last_of_night")
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout
    assert re.search(r"^charge_calibration\s+1$", out, re.M) and re.search(r"^r0_to_dl1\s+21$", out, re.M)
    charge = next(line for line in out.splitlines() if "lstchain_create_calibration_file" in line)
    assert f"{tmp_path}/R0/20220922/LST-1.1.Run09258.0000.fits.fz" in charge
    assert f"run_summary_path={earlier}" in charge
    assert "drs4_baseline/20220923/v0.12.3/drs4_pedestal.Run09381.0000.h5" in charge
    assert "Cat-A/calibration/20220923/v0.12.3/calibration_filters_52.Run09258.0000.h5" in out


def test_workflow_calibration_only_night(tmp_path):
    text = (DATA / "extra" / "RunSummary_20200117.ecsv").read_text().splitlines()
    src = tmp_path / "only_cal.ecsv"
    src.write_text("\n".join(ln for ln in text if ",DATA," not in ln) + "\n")
    install(tmp_path / "root", src, N0117)
    res = dry_run(tmp_path / "root", N0117)
    assert res.returncode == 0, res.stderr[-3000:]
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", res.stdout.split("Job stats:")[1], re.M)}
    assert counts["drs4_pedestal"] == counts["time_calibration"] == counts["charge_calibration"] == 1
    assert "r0_to_dl1" not in counts
    assert "drs4_pedestal.Run01804.0000.h5" in res.stdout and "calibration_filters_52.Run01829.0000.h5" in res.stdout
