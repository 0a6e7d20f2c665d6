"""lstosa-migrate-layout: nights processed with the old layout moved into LSTOSA's tree (issue 22).

An old-layout tree of small files, each with its own content: night 2020-01-27 (DL1b, run 1874 with a
tail-cut summary choosing tailcut1005 and NSB level 0.14, run 1875 without one), night 2020-01-28
(run 1904, no summary, not closed). Checked: the dry run changes nothing; the real run moves every
product to its LSTOSA path with the same bytes and leaves relative links at the old paths, and makes
the flags and links; a repeat does nothing; a conflict changes neither file; no content is lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from lstosa_snake.jobs import integrity
from lstosa_snake.night.dates import parse_night_date
from lstosa_snake.night.paths import NightPaths
from lstosa_snake.ops import migrate_layout

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "lstchain" / "lstchain_config.json"
N1, N2, PROD = "20200127", "20200128", "v0.12"


def write(path: Path, content: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if content is not None else f"content of {path.name} in {path.parent.name}\n")
    return path


def old_night(root: Path, date: str, runs: dict[int, int], summaries: dict[int, dict], closed: bool) -> None:
    dl1, dl2 = root / "DL1" / date / PROD, root / "DL2" / date / PROD
    for run, nsub in runs.items():
        tc = summaries.get(run, {}).get("dl1_prod_id")
        for s in range(nsub):
            sub = f"Run{run:05d}.{s:04d}"
            write(root / "R0" / date / f"LST-1.1.{sub}.fits.fz")
            write(dl1 / f"dl1_LST-1.{sub}.h5")
            write(dl1 / "muons" / f"muons_LST-1.{sub}.fits")
            write(dl1 / "datacheck" / f"datacheck_dl1_LST-1.{sub}.h5")
            write(dl2 / f"dl2_LST-1.{sub}.h5")
            if tc:  # DL1b: already in its cleaning directory, dl1b/ links to it
                write(dl1 / tc / f"dl1_LST-1.{sub}.h5")
                (dl1 / "dl1b").mkdir(exist_ok=True)
                (dl1 / "dl1b" / f"dl1_LST-1.{sub}.h5").symlink_to(f"../{tc}/dl1_LST-1.{sub}.h5")
        for name in (f"dl1_LST-1.Run{run:05d}.h5",):
            write(dl1 / name)
        for ext in ("h5", "pdf"):
            write(dl1 / "datacheck" / f"datacheck_dl1_LST-1.Run{run:05d}.{ext}")
        write(dl1 / "muons" / f"muons_LST-1.Run{run:05d}.fits")
        write(dl2 / f"dl2_LST-1.Run{run:05d}.h5")
        if run in summaries:
            write(dl1 / "tailcuts" / f"tailcuts_Run{run:05d}.json", json.dumps(summaries[run]))
            write(dl1 / "tailcuts" / f"dl1ab_Run{run:05d}.json", json.dumps({"run": run}))
    for prod in ("v0.11", PROD):
        for ext in ("h5", "html", "log"):
            write(root / "DL1" / "datacheck_files" / "night_wise" / prod / date / f"DL1_datacheck_{date}.{ext}",
                  f"{prod} {date} {ext}")
    for kind in migrate_layout.CATA_KINDS:
        write(root / "monitoring" / "PixelCalibration" / "Cat-A" / kind / date / "v0.12.3" / f"{kind}.Run01872.h5")
    if closed:
        write(root / "running_analysis" / date / PROD / "NightFinished.txt", f"night {date} closed\n")


def make_tree(root: Path) -> Path:
    summary = {"run": 1874, "finder": True, "reason": "", "dl1_prod_id": "tailcut1005", "nsb_level": 0.14,
               "picture_thresh": 10, "boundary_thresh": 5}
    old_night(root, N1, {1874: 2, 1875: 1}, {1874: summary}, closed=True)
    old_night(root, N2, {1904: 2}, {}, closed=False)
    return root


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root: ('file', sha256) | ('link', target) | ('dir',)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = ("dir",)
            else:
                out[rel] = ("file", digest(p))
    return out


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def contents(snap: dict) -> Counter:
    return Counter(v[1] for v in snap.values() if v[0] == "file")


def migrate(root: Path, *extra: str) -> int:
    """The tree's productions chose their models by NSB level (run 1874's DL2 goes to nsb_tuning_0.14)."""
    return migrate_layout.main(["--output-root", str(root), "--lstchain-config", str(CONFIG), "--models-by-nsb", *extra])


def test_without_models_by_nsb_dl2_goes_to_the_dark_sky_level(tmp_path):
    root = make_tree(tmp_path / "tree")
    assert migrate_layout.main(["--output-root", str(root), "--lstchain-config", str(CONFIG), "--date", N1]) == 0
    dl2 = root / "DL2" / N1 / PROD
    assert (dl2 / "tailcut1005" / "nsb_tuning_0.00" / "dl2_LST-1.Run01874.h5").is_file()
    assert not (dl2 / "tailcut1005" / "nsb_tuning_0.14").exists()


#: old path -> LSTOSA path of every product of the tree (relative to the root)
MOVES = {
    f"DL1/{N1}/{PROD}/dl1_LST-1.Run01874.h5": f"DL1/{N1}/{PROD}/tailcut1005/dl1_LST-1.Run01874.h5",
    f"DL1/{N1}/{PROD}/datacheck/datacheck_dl1_LST-1.Run01874.0000.h5":
        f"DL1/{N1}/{PROD}/tailcut1005/datacheck/datacheck_dl1_LST-1.Run01874.0000.h5",
    f"DL1/{N1}/{PROD}/datacheck/datacheck_dl1_LST-1.Run01874.0001.h5":
        f"DL1/{N1}/{PROD}/tailcut1005/datacheck/datacheck_dl1_LST-1.Run01874.0001.h5",
    f"DL1/{N1}/{PROD}/datacheck/datacheck_dl1_LST-1.Run01874.h5":
        f"DL1/{N1}/{PROD}/tailcut1005/datacheck/datacheck_dl1_LST-1.Run01874.h5",
    f"DL1/{N1}/{PROD}/datacheck/datacheck_dl1_LST-1.Run01874.pdf":
        f"DL1/{N1}/{PROD}/tailcut1005/datacheck/datacheck_dl1_LST-1.Run01874.pdf",
    f"DL2/{N1}/{PROD}/dl2_LST-1.Run01874.h5": f"DL2/{N1}/{PROD}/tailcut1005/nsb_tuning_0.14/dl2_LST-1.Run01874.h5",
    f"DL1/{N1}/{PROD}/dl1_LST-1.Run01875.h5": f"DL1/{N1}/{PROD}/tailcut84/dl1_LST-1.Run01875.h5",
    f"DL1/{N1}/{PROD}/datacheck/datacheck_dl1_LST-1.Run01875.0000.h5":
        f"DL1/{N1}/{PROD}/tailcut84/datacheck/datacheck_dl1_LST-1.Run01875.0000.h5",
    f"DL1/{N1}/{PROD}/datacheck/datacheck_dl1_LST-1.Run01875.h5":
        f"DL1/{N1}/{PROD}/tailcut84/datacheck/datacheck_dl1_LST-1.Run01875.h5",
    f"DL1/{N1}/{PROD}/datacheck/datacheck_dl1_LST-1.Run01875.pdf":
        f"DL1/{N1}/{PROD}/tailcut84/datacheck/datacheck_dl1_LST-1.Run01875.pdf",
    f"DL2/{N1}/{PROD}/dl2_LST-1.Run01875.h5": f"DL2/{N1}/{PROD}/tailcut84/nsb_tuning_0.00/dl2_LST-1.Run01875.h5",
    f"DL1/{N2}/{PROD}/dl1_LST-1.Run01904.h5": f"DL1/{N2}/{PROD}/tailcut84/dl1_LST-1.Run01904.h5",
    f"DL1/{N2}/{PROD}/datacheck/datacheck_dl1_LST-1.Run01904.0000.h5":
        f"DL1/{N2}/{PROD}/tailcut84/datacheck/datacheck_dl1_LST-1.Run01904.0000.h5",
    f"DL1/{N2}/{PROD}/datacheck/datacheck_dl1_LST-1.Run01904.0001.h5":
        f"DL1/{N2}/{PROD}/tailcut84/datacheck/datacheck_dl1_LST-1.Run01904.0001.h5",
    f"DL1/{N2}/{PROD}/datacheck/datacheck_dl1_LST-1.Run01904.h5":
        f"DL1/{N2}/{PROD}/tailcut84/datacheck/datacheck_dl1_LST-1.Run01904.h5",
    f"DL1/{N2}/{PROD}/datacheck/datacheck_dl1_LST-1.Run01904.pdf":
        f"DL1/{N2}/{PROD}/tailcut84/datacheck/datacheck_dl1_LST-1.Run01904.pdf",
    f"DL2/{N2}/{PROD}/dl2_LST-1.Run01904.h5": f"DL2/{N2}/{PROD}/tailcut84/nsb_tuning_0.00/dl2_LST-1.Run01904.h5",
}


def test_the_expected_paths_are_the_workflows():
    paths = NightPaths(Path("/r"), Path("/r"), parse_night_date(N1), PROD, "v0.12.3")
    assert str(paths.lstosa_dl2_run(1874, "tailcut1005", "nsb_tuning_0.14")) == "/r/" + MOVES[f"DL2/{N1}/{PROD}/dl2_LST-1.Run01874.h5"]
    assert str(paths.lstosa_datacheck_subrun(1874, 0, "tailcut1005")) == "/r/" + MOVES[
        f"DL1/{N1}/{PROD}/datacheck/datacheck_dl1_LST-1.Run01874.0000.h5"]


def test_dry_run_changes_nothing(tmp_path, capsys):
    root = make_tree(tmp_path / "tree")
    before = snapshot(root)
    assert migrate(root, "--dry-run") == 0
    assert snapshot(root) == before
    out = capsys.readouterr().out
    assert out.count("move+link") == len(MOVES) + 1  # and the summary line
    assert "dry run (nothing changed)" in out.splitlines()[-1]


def test_migration_moves_products_links_old_paths_and_makes_lstosa_links(tmp_path, capsys):
    root = make_tree(tmp_path / "tree")
    night1 = NightPaths(root, root, parse_night_date(N1), PROD, "v0.12.3")
    integrity.write_manifest(night1)  # the night was closed: its manifest must still hold after the move
    before = snapshot(root)
    assert migrate(root) == 0
    after = snapshot(root)
    for old, new in MOVES.items():
        assert after[new] == ("file", before[old][1]), new  # the same bytes, a real file
        kind, target = after[old]
        assert kind == "link" and not os.path.isabs(target), old
        assert (root / old).resolve() == (root / new).resolve()
    # sub-run DL1a/DL1b/DL2, muons and raw files stay where they are
    for rel in (f"DL1/{N1}/{PROD}/dl1_LST-1.Run01874.0001.h5", f"DL1/{N1}/{PROD}/tailcut1005/dl1_LST-1.Run01874.0001.h5",
                f"DL2/{N1}/{PROD}/dl2_LST-1.Run01874.0001.h5", f"DL1/{N1}/{PROD}/muons/muons_LST-1.Run01874.fits",
                f"R0/{N1}/LST-1.1.Run01874.0000.fits.fz"):
        assert after[rel] == before[rel], rel
    assert integrity.damaged_products(night1) == ([], [])
    # flags and links
    flag = root / "OSA" / "Closer" / N1 / PROD / "NightFinished.txt"
    assert not flag.is_symlink() and flag.read_text() == f"night {N1} closed\n"
    assert not (root / "OSA" / "Closer" / N2).exists()  # not closed
    links = root / "DL1" / "datacheck_files" / N1
    assert (links / "datacheck_dl1_LST-1.Run01874.pdf").resolve() == root / MOVES[
        f"DL1/{N1}/{PROD}/datacheck/datacheck_dl1_LST-1.Run01874.pdf"]
    assert (links / "datacheck_dl1_LST-1.Run01875.0000.h5").is_symlink()
    assert (links / "muons" / "muons_LST-1.Run01874.0001.fits").resolve() == root / f"DL1/{N1}/{PROD}/muons/muons_LST-1.Run01874.0001.fits"
    assert sorted(p.name for p in (root / "DL1" / "datacheck_files" / N2).iterdir()) == [
        "datacheck_dl1_LST-1.Run01904.0000.h5", "datacheck_dl1_LST-1.Run01904.0001.h5",
        "datacheck_dl1_LST-1.Run01904.h5", "datacheck_dl1_LST-1.Run01904.pdf", "muons"]
    longterm = root / "DL1" / "datacheck_files" / "night_wise" / f"DL1_datacheck_{N1}.html"
    assert longterm.is_symlink() and longterm.read_text() == f"{PROD} {N1} html"
    aux = root / "auxiliary" / "TailCuts"
    assert sorted(p.name for p in aux.iterdir()) == ["dl1ab_Run01874.json"]  # run 1875 had no finder
    assert (aux / "dl1ab_Run01874.json").resolve() == root / f"DL1/{N1}/{PROD}/tailcuts/dl1ab_Run01874.json"
    for kind in migrate_layout.CATA_KINDS:
        pro = root / "monitoring" / "PixelCalibration" / "Cat-A" / kind / N2 / "pro"
        assert os.readlink(pro) == "v0.12.3"
    # the link at an old path keeps its file's mtime (make and Snakemake see nothing newer)
    old = root / f"DL2/{N1}/{PROD}/dl2_LST-1.Run01874.h5"
    assert os.lstat(old).st_mtime_ns == os.stat(old).st_mtime_ns
    # nothing lost: the same contents, and one more copy of the flag
    assert contents(after) == contents(before) + Counter([digest(flag)])
    summary = capsys.readouterr().out.splitlines()[-1]
    assert summary.startswith(f"done: {len(MOVES)} move+link") and "0 conflict, 0 error" in summary


def test_second_run_does_nothing(tmp_path, capsys):
    root = make_tree(tmp_path / "tree")
    assert migrate(root) == 0
    first = snapshot(root)
    capsys.readouterr()
    assert migrate(root) == 0
    assert snapshot(root) == first
    assert capsys.readouterr().out.splitlines()[-1].startswith("done: 0 move+link, 0 link, 0 copy,")


def test_conflict_changes_neither_file_and_fails(tmp_path, capsys):
    root = make_tree(tmp_path / "tree")
    old, new = f"DL1/{N1}/{PROD}/dl1_LST-1.Run01874.h5", MOVES[f"DL1/{N1}/{PROD}/dl1_LST-1.Run01874.h5"]
    write(root / new, "another merged file")
    before = snapshot(root)
    assert migrate(root) == 1
    after = snapshot(root)
    assert after[old] == before[old] and after[new] == before[new]
    err = capsys.readouterr().err
    assert "conflict" in err and old in err and new in err
    assert all(after[o][0] == "link" for o in MOVES if o != old)  # the rest is done
    assert contents(after) - contents(before) == Counter([digest(root / "OSA" / "Closer" / N1 / PROD / "NightFinished.txt")])
    assert not contents(before) - contents(after)
    assert migrate(root) == 1 and snapshot(root) == after


def test_an_interrupted_move_is_finished(tmp_path):
    """Killed after the hard link, or with the old name gone: the next run makes the link."""
    root = make_tree(tmp_path / "tree")
    (a_old, a_new), (b_old, b_new) = list(MOVES.items())[:2]
    for new in (a_new, b_new):
        (root / new).parent.mkdir(parents=True, exist_ok=True)
    os.link(root / a_old, root / a_new)
    os.replace(root / b_old, root / b_new)
    before = snapshot(root)
    assert migrate(root) == 0
    after = snapshot(root)
    assert after[a_new] == before[a_old] and after[a_old][0] == "link" and after[b_old][0] == "link"
    assert (root / b_old).read_bytes() == (root / b_new).read_bytes()


def test_filters_and_command_line(tmp_path):
    root = make_tree(tmp_path / "tree")
    cmd = [sys.executable, "-m", "lstosa_snake.ops.migrate_layout", "--output-root", str(root),
           "--lstchain-config", str(CONFIG), "--date", "2020-01-28", "--prod-id", PROD]
    before = snapshot(root)
    dry = subprocess.run([*cmd, "--dry-run"], capture_output=True, text=True, check=True)
    assert snapshot(root) == before and f"DL1/{N1}" not in dry.stdout
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert (root / f"DL1/{N2}/{PROD}/dl1_LST-1.Run01904.h5").is_symlink()
    assert not (root / f"DL1/{N1}/{PROD}/dl1_LST-1.Run01874.h5").is_symlink()  # other night untouched
    assert migrate(root, "--prod-id", "v9.9") == 0  # nothing of that production: nothing done


def test_missing_standard_cleaning_is_an_error_naming_the_run(tmp_path, capsys):
    root = make_tree(tmp_path / "tree")
    rc = migrate_layout.main(["--output-root", str(root), "--lstchain-config", str(tmp_path / "none.json"),
                              "--date", N1])
    assert rc == 1
    assert "run 01875 not migrated" in capsys.readouterr().err
    assert (root / f"DL1/{N1}/{PROD}/dl1_LST-1.Run01874.h5").is_symlink()  # its summary names the cleaning
    assert not (root / f"DL1/{N1}/{PROD}/dl1_LST-1.Run01875.h5").is_symlink()
