"""LSTOSA 0.11.10's own path functions and globs find every product of a night processed here (issue 22).

tests/lstosa_reference.py runs them (LSTOSA installed from the package index by
scripts/install_lstosa_reference.sh, in the tools' environment) on a tree and prints what they find.
The fast tests build a tiny tree of empty files: in our layout everything is found, in the old layout
(no tail-cut level) nothing of it is, so the check can fail. The e2e test reads the synthetic night
processed by the workflow with the real tools, with content checks.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from e2e_fixtures import EXCLUDED
from synthetic_fixtures import LST_PYTHON, REPO
from tiers import require_or_skip

from lstosa_snake.jobs.runner import tool_environment

CHECKER = REPO / "tests" / "lstosa_reference.py"
INSTALLER = REPO / "scripts" / "install_lstosa_reference.sh"

#: per DATA run: what LSTOSA's closer, copy_datacheck and lstchain's tools look for (names: the checker's)
RUN_KINDS = ("dl1b_subruns", "merged_dl1", "datacheck_subruns", "datacheck_runs", "datacheck_pdfs",
             "datacheck_links", "longterm_inputs", "muons", "muon_links", "interleaved", "dl2_runs",
             "closer_dl1ab_re_matches", "closer_dl2_re_matches", "copy_datacheck_runs")
#: per calibration run (drs4 run for the pedestal, PEDCAL run for the others)
DRS4_KINDS = ("drs4_pedestal", "drs4_pedestal_pro")
PEDCAL_KINDS = ("charge_calibration", "charge_calibration_pro", "time_calibration")


@pytest.fixture(scope="module")
def reference() -> Path:
    if not LST_PYTHON.exists():
        require_or_skip(f"the tools' environment {LST_PYTHON} is not set up (run scripts/setup.sh)", tier="tools")
    proc = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        require_or_skip(f"lstosa could not be installed from the package index: {proc.stderr[-800:]}",
                        tier="tools")
    return Path(proc.stdout.strip().splitlines()[-1])


def lstosa_finds(reference: Path, base: Path, date: str, prod: str, runs, drs4: int, pedcal: int,
                 *extra) -> dict:
    cmd = [str(LST_PYTHON), str(CHECKER), "--reference", str(reference), "--base", str(base),
           "--date", date, "--prod-id", prod, "--runs", *map(str, runs),
           "--calibration-runs", str(drs4), str(pedcal), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=tool_environment())
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout)


def missing_products(report: dict, subruns: dict[int, list[int]], drs4: int, pedcal: int,
                     tailcuts: bool = True) -> list[str]:
    """What LSTOSA does not find of a night whose DATA runs have these processed sub-runs; [] if all."""
    kinds, problems = report["kinds"], []

    def found(kind, run):
        return kinds[kind]["runs"].get(f"{run:05d}", [])

    def names(kind, run):
        return sorted(Path(p).name for p in found(kind, run))

    for run, subs in subruns.items():
        for kind in RUN_KINDS + (("tailcuts_config",) if tailcuts else ()):
            if not found(kind, run):
                problems.append(f"{kind} Run{run:05d}: nothing ({kinds[kind].get('error', {})})")
        for kind, fmt in (("dl1b_subruns", "dl1_LST-1.Run{:05d}.{:04d}.h5"),
                          ("datacheck_subruns", "datacheck_dl1_LST-1.Run{:05d}.{:04d}.h5"),
                          ("muons", "muons_LST-1.Run{:05d}.{:04d}.fits"),
                          ("interleaved", "interleaved_LST-1.Run{:05d}.{:04d}.h5")):
            if names(kind, run) != sorted(fmt.format(run, s) for s in subs):
                problems.append(f"{kind} Run{run:05d}: {names(kind, run)}")
        counts = kinds["status_table"]["counts"][f"{run:05d}"]
        # The status table's DATACHECK% counts sub-run and run-wise files; DL2% is 100 x one merged file.
        if counts["DATACHECK"] != len(subs) + 1 or counts["DL2"] != 1:
            problems.append(f"status table Run{run:05d}: {counts}")
    for kind in DRS4_KINDS:
        if not found(kind, drs4):
            problems.append(f"{kind} Run{drs4:05d}: nothing ({kinds[kind].get('error', {})})")
    for kind in PEDCAL_KINDS:
        if not found(kind, pedcal):
            problems.append(f"{kind} Run{pedcal:05d}: nothing ({kinds[kind].get('error', {})})")
    for kind in ("datacheck_links", "muon_links"):
        if kinds[kind]["missing"]:
            problems.append(f"{kind}: missing {kinds[kind]['missing']}")
    if kinds["copy_datacheck_run_count"]["value"] != len(subruns):
        problems.append(f"copy_datacheck counts {kinds['copy_datacheck_run_count']['value']} runs")
    longterm = kinds["longterm_latest"]  # copy_datacheck's LONGTERM: exactly 3 files (h5, html, log)
    if (not longterm["complete"] or len(longterm["paths"]) != 3
            or not all(longterm["points_to_latest_version"].values())):
        problems.append(f"longterm_latest: {longterm['paths']} {longterm['points_to_latest_version']}")
    if sorted(Path(p).suffix for p in kinds["longterm"]["paths"]) != [".h5", ".html", ".log"]:
        problems.append(f"longterm: {kinds['longterm']['paths']}")
    for kind in ("copy_datacheck_pedestal_pdf", "copy_datacheck_calib_pdf"):  # lstchain's onsite plots, one each
        if len(kinds[kind]["paths"]) != 1 or not kinds[kind].get("complete"):
            problems.append(f"{kind}: {kinds[kind]['paths']}")
    if not kinds["night_finished"]["paths"]:
        problems.append("night_finished: no OSA/Closer/<date>/<prod>/NightFinished.txt")
    for kind, target in kinds["pro_links"]["targets"].items():  # relative, as lstchain's create_pro_symlink
        if not target or "/" in target:
            problems.append(f"pro link of {kind}: {target!r}")
    return problems


# --------------------------------------------------------------------------- fast: a tiny tree

DATE, NIGHT, PROD, VERSION = "2020-01-27", "20200127", "v0.12", "v0.12.3"
TAILCUT, NSB = "tailcut84", "nsb_tuning_0.14"
DRS4, PEDCAL, SUBRUNS = 2001, 2002, {2003: [0, 1], 2004: [0]}


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def link(at: Path, target) -> None:
    at.parent.mkdir(parents=True, exist_ok=True)
    at.symlink_to(target)


def fake_night(root: Path, layout: str) -> Path:
    """Empty files where the workflow writes them: layout 'lstosa' (issue 22) or 'old' (before it: no
    tail-cut level, no 'pro' links, NightFinished in running_analysis, latest links one level too high)."""
    cat_a = root / "monitoring" / "PixelCalibration" / "Cat-A"
    for kind, name in (("drs4_baseline", f"drs4_pedestal.Run{DRS4:05d}.0000.h5"),
                       ("calibration", f"calibration_filters_52.Run{PEDCAL:05d}.0000.h5"),
                       ("drs4_time_sampling_from_FF", f"time_calibration.Run{PEDCAL:05d}.0000.h5")):
        touch(cat_a / kind / NIGHT / VERSION / name)
        if layout == "lstosa":
            link(cat_a / kind / NIGHT / "pro", VERSION)
            if kind != "drs4_time_sampling_from_FF":  # the PDFs of lstchain's onsite scripts
                touch(cat_a / kind / NIGHT / VERSION / "log" / name.replace(".h5", ".pdf"))
    night = root / "DL1" / NIGHT / PROD
    tc = night / TAILCUT if layout == "lstosa" else night
    dc = tc / "datacheck"
    dl2 = root / "DL2" / NIGHT / PROD / TAILCUT / NSB if layout == "lstosa" else root / "DL2" / NIGHT / PROD
    links = root / "DL1" / "datacheck_files" / NIGHT
    for run, subs in SUBRUNS.items():
        r = f"Run{run:05d}"
        for s in subs:
            touch(night / f"dl1_LST-1.{r}.{s:04d}.h5")  # DL1a: ours, LSTOSA has none in DL1/
            touch(tc / f"dl1_LST-1.{r}.{s:04d}.h5")
            touch(dc / f"datacheck_dl1_LST-1.{r}.{s:04d}.h5")
            touch(night / "muons" / f"muons_LST-1.{r}.{s:04d}.fits")
            touch(night / "interleaved" / f"interleaved_LST-1.{r}.{s:04d}.h5")
        touch(tc / f"dl1_LST-1.{r}.h5")
        touch(dc / f"datacheck_dl1_LST-1.{r}.h5")
        touch(dc / f"datacheck_dl1_LST-1.{r}.pdf")
        touch(dl2 / f"dl2_LST-1.{r}.h5")
        if layout == "lstosa":
            link(night / f"dl1_LST-1.{r}.h5", f"{TAILCUT}/dl1_LST-1.{r}.h5")  # our handle: must not count
            touch(root / "auxiliary" / "TailCuts" / f"dl1ab_Run{run:05d}.json", json.dumps(
                {"tailcuts_clean_with_pedestal_threshold": {"picture_thresh": 8, "boundary_thresh": 4}}))
    if layout == "lstosa":
        for f in sorted(dc.iterdir()):
            link(links / f.name, f)
        for f in sorted((night / "muons").iterdir()):
            link(links / "muons" / f.name, f)
    night_wise = root / "DL1" / "datacheck_files" / "night_wise"
    for ext in ("h5", "html", "log"):
        name = f"DL1_datacheck_{NIGHT}.{ext}"
        touch(night_wise / PROD / NIGHT / name)
        if layout == "lstosa":  # the latest version's links, in night_wise/ (osa/paths.py:401)
            link(night_wise / name, Path(PROD, NIGHT, name))
        else:  # one level up: neither copy_datacheck nor create_longterm_symlink look there
            link(night_wise.parent / name, Path("night_wise", PROD, NIGHT, name))
    closer_dir = "OSA/Closer" if layout == "lstosa" else "running_analysis"
    touch(root / closer_dir / NIGHT / PROD / "NightFinished.txt", "closed\n")
    return root


def test_lstosa_finds_every_product_of_our_layout(reference, tmp_path):
    root = fake_night(tmp_path / "tree", "lstosa")
    report = lstosa_finds(reference, root, DATE, PROD, SUBRUNS, DRS4, PEDCAL)
    assert missing_products(report, SUBRUNS, DRS4, PEDCAL) == []
    for run in SUBRUNS:
        assert report["runs"][f"{run:05d}"]["dl1_prod_id"] == TAILCUT  # from auxiliary/TailCuts, LSTOSA's way
        assert report["runs"][f"{run:05d}"]["nsb_prod_id"] == NSB
    # Not fooled by our own files: DL1a sub-runs and the link at the old merged path are not listed.
    (merged,) = report["kinds"]["merged_dl1"]["runs"]["02003"]
    assert Path(merged) == root / "DL1" / NIGHT / PROD / TAILCUT / "dl1_LST-1.Run02003.h5"
    assert all(f"/{TAILCUT}/" in p for p in report["kinds"]["dl1b_subruns"]["paths"])
    assert report["kinds"]["pro_links"]["targets"] == dict.fromkeys(
        ("drs4_baseline", "calibration", "drs4_time_sampling_from_FF"), VERSION)


def test_the_old_layout_is_not_found(reference, tmp_path):
    root = fake_night(tmp_path / "tree", "old")
    report = lstosa_finds(reference, root, DATE, PROD, SUBRUNS, DRS4, PEDCAL, "--dl1-prod-id", TAILCUT)
    kinds = report["kinds"]
    for kind in ("dl1b_subruns", "merged_dl1", "datacheck_subruns", "datacheck_runs", "datacheck_pdfs",
                 "dl2_runs", "copy_datacheck_runs", "tailcuts_config", "night_finished", "longterm_latest",
                 "drs4_pedestal_pro", "charge_calibration_pro", "time_calibration"):
        assert kinds[kind]["paths"] == [], kind
    assert kinds["copy_datacheck_run_count"]["value"] == 0
    problems = missing_products(report, SUBRUNS, DRS4, PEDCAL)
    assert any(p.startswith("merged_dl1 Run02003") for p in problems)
    assert any(p.startswith("pro link of drs4_baseline") for p in problems)


# --------------------------------------------------------------------------- e2e: the processed night

E2E_DATE, E2E_NIGHT_DIR, E2E_PROD = "2020-01-27", "20200127", "v0.12"


def probe(*paths) -> list[dict]:
    """Rows and event ids of DL1/DL2 files, read in the tools' environment (tests/h5_probe.py)."""
    out = subprocess.run([str(LST_PYTHON), str(REPO / "tests" / "h5_probe.py"), *map(str, paths)],
                         capture_output=True, text=True, check=True, timeout=600, env=tool_environment())
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.e2e
@pytest.mark.tools
def test_lstosa_finds_every_product_of_the_processed_night(local_night, reference):
    plan = json.loads(local_night.product("synthetic_truth", E2E_NIGHT_DIR, "night.json").read_text())
    (drs4,) = [r["run"] for r in plan["runs"] if r["run_type"] == "DRS4"]
    (pedcal,) = [r["run"] for r in plan["runs"] if r["run_type"] in ("CALI", "PEDCALIB")]
    ex_run, ex_sub = (int(x) for x in EXCLUDED.split("."))
    subruns = {r["run"]: [s for s in range(r["n_subruns"]) if (r["run"], s) != (ex_run, ex_sub)]
               for r in plan["runs"] if r["run_type"] == "DATA"}
    report = lstosa_finds(reference, local_night.data_root, E2E_DATE, E2E_PROD, subruns, drs4, pedcal)
    assert missing_products(report, subruns, drs4, pedcal) == [], json.dumps(report["runs"], indent=1)

    kinds = report["kinds"]
    for run in subruns:
        r = f"{run:05d}"
        # The merged DL1 LSTOSA finds holds the events of the sub-runs it finds.
        (merged,) = kinds["merged_dl1"]["runs"][r]
        merged_dl1, *dl1b = probe(merged, *kinds["dl1b_subruns"]["runs"][r])
        assert merged_dl1["rows"] == sum(d["rows"] for d in dl1b) > 0, (r, merged_dl1["rows"])
        assert sorted(merged_dl1["event_ids"]) == sorted(e for d in dl1b for e in d["event_ids"])
        # The DL2 LSTOSA finds is made from it (lstchain's DL2 filters drop some events).
        (dl2,) = probe(*kinds["dl2_runs"]["runs"][r])
        assert dl2["kind"] == "dl2" and 0 < dl2["rows"] <= merged_dl1["rows"]
        assert set(dl2["event_ids"]) <= set(merged_dl1["event_ids"])
        for link_path in kinds["datacheck_links"]["runs"][r]:
            assert os.path.getsize(link_path) > 0, link_path
    latest = kinds["longterm_latest"]["paths"]
    assert sorted(Path(p).suffix for p in latest) == [".h5", ".html", ".log"]
    assert all(os.path.getsize(p) > 0 for p in latest), latest
