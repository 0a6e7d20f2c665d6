"""The closed night's product manifest: written at close, missing and changed products found."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

from lstosa_snake.jobs.integrity import (
    closed_night_problems, collect, damaged_products, manifest_path, same_mtime, write_manifest,
)
from lstosa_snake.night.paths import NightPaths


def closed_toy(tmp_path):
    """A closed night's product tree (names as the workflow makes them) with its manifest."""
    paths = NightPaths(tmp_path, tmp_path, dt.date(2020, 1, 27), "v0.12", "v0.12.3")
    files = [paths.dl1_subrun(1874, 0), paths.dl1_run(1874), paths.dl2_run(1874), paths.muons_run(1874),
             paths.datacheck_run_pdf(1874), paths.interleaved_subrun(1874, 0), paths.night_datacheck,
             paths.night_report]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(f"product {f.name}\n")
    files.remove(paths.night_report)  # close_night's own output: not in the manifest
    (paths.dl1_dir / "datacheck" / "plots").mkdir()
    (paths.dl1_dir / "datacheck" / "plots" / "later.png").write_text("made after the close\n")
    (paths.dl1_dir / ".dl1_LST-1.Run01874.h5.tmp").write_text("a temporary file\n")
    paths.night_finished.write_text("closed\n")
    write_manifest(paths)
    return paths, files


def test_manifest_lists_the_products_and_an_intact_night_has_no_problem(tmp_path):
    paths, files = closed_toy(tmp_path)
    manifest = json.loads(manifest_path(paths).read_text())
    assert sorted(manifest["files"]) == sorted(str(f.relative_to(tmp_path)) for f in files)
    size, mtime = manifest["files"]["DL1/20200127/v0.12/dl1_LST-1.Run01874.h5"]
    assert size == len("product dl1_LST-1.Run01874.h5\n") and mtime == paths.dl1_run(1874).stat().st_mtime_ns
    assert closed_night_problems(paths) == []


def test_missing_and_changed_products_are_named(tmp_path):
    paths, _ = closed_toy(tmp_path)
    paths.dl1_run(1874).unlink()
    paths.dl2_run(1874).write_text("rewritten by someone, longer than before\n")
    st = paths.muons_run(1874).stat()
    os.utime(paths.muons_run(1874), ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # same size, newer
    problems = closed_night_problems(paths)
    assert problems == [
        f"merged DL1 dl1_LST-1.Run01874.h5 is missing ({paths.dl1_dir})",
        f"merged muons muons_LST-1.Run01874.fits changed since closing ({paths.dl1_dir / 'muons'})",
        f"merged DL2 dl2_LST-1.Run01874.h5 changed since closing ({paths.dl2_dir})",
    ]
    assert damaged_products(paths) == ([paths.dl1_run(1874)], [paths.muons_run(1874), paths.dl2_run(1874)])
    assert closed_night_problems(paths, limit=1) == [problems[0], "... and 2 more missing or changed products"]


def test_mtime_to_the_second_only_when_a_copy_rounded_it():
    assert same_mtime(1_580_000_000_123_456_789, 1_580_000_000_123_456_789)
    assert not same_mtime(1_580_000_000_123_456_789, 1_580_000_000_123_456_790)  # rewritten in the same second
    assert same_mtime(1_580_000_000_000_000_000, 1_580_000_000_123_456_789)  # copied with cp -p to a coarse fs
    assert not same_mtime(1_580_000_001_000_000_000, 1_580_000_000_123_456_789)


def test_not_closed_or_no_manifest_is_no_problem_and_a_broken_manifest_is_one(tmp_path):
    paths, _ = closed_toy(tmp_path)
    paths.dl1_run(1874).unlink()
    paths.night_finished.unlink()
    assert closed_night_problems(paths) == []  # an open night: the workflow will make it
    paths.night_finished.write_text("closed\n")
    manifest_path(paths).write_text("{not json")
    assert closed_night_problems(paths)[0].startswith(f"product manifest: {manifest_path(paths)} cannot be read")
    manifest_path(paths).unlink()
    assert closed_night_problems(paths) == []  # closed before manifests existed: nothing to compare


def test_command_line_writes_and_checks(tmp_path):
    paths, files = closed_toy(tmp_path)
    manifest_path(paths).unlink()
    config = json.dumps({"date": "2020-01-27", "data_root": str(tmp_path), "output_root": None, "prod_id": "v0.12",
                         "calibration_version": "v0.12.3"})
    cmd = [sys.executable, "-m", "lstosa_snake.jobs.integrity"]
    wrote = subprocess.run([*cmd, "write", "--base", str(tmp_path), "--config-json", config],
                           capture_output=True, text=True)
    assert wrote.returncode == 0 and f"({len(files)} files)" in wrote.stdout, wrote.stderr
    assert len(collect(paths)) == len(files)
    paths.dl2_run(1874).unlink()
    check = subprocess.run([*cmd, "check", "--base", str(tmp_path), "--config-json", config],
                           capture_output=True, text=True)
    assert check.returncode == 1 and "merged DL2 dl2_LST-1.Run01874.h5 is missing" in check.stdout
