"""Products at LSTOSA's paths, with the workflow's handles as links (lstosa_snake.jobs.layout, runner --place)."""

from __future__ import annotations

import json
import os
import sys

import pytest

from lstosa_snake.jobs import layout, runner


def write_tool(tmp_path, content: str):
    """A stand-in tool that writes `content` into {staging}/merged.h5 (the runner is what is tested)."""
    return [sys.executable, "-c", f"open('merged.h5', 'w').write({content!r})"]


def summary(tmp_path, dl1_prod_id="tailcut84", nsb_level=None):
    path = tmp_path / "tailcuts_Run01874.json"
    path.write_text(json.dumps({"dl1_prod_id": dl1_prod_id, "nsb_level": nsb_level}))
    return path


def run_placed(tmp_path, content, summary_file, from_tailcuts=("dl1_prod_id", "nsb_tuning")):
    prod = tmp_path / "DL2" / "20200127" / "v0.12"
    handle = prod / "dl2_LST-1.Run01874.h5"
    template = f"{prod}/{{dl1_prod_id}}/{{nsb_tuning}}/dl2_LST-1.Run01874.h5"
    argv = ["--label", "merge_dl2 run 01874", "--log", str(tmp_path / "merge.log"),
            "--staging-root", str(tmp_path / "staging"), "--out", f"merged.h5={handle}",
            "--place", f"{handle}={template}", "--layout", "dl1_prod_id=tailcut84",
            "--layout", "nsb_tuning=nsb_tuning_0.00", "--layout-tailcuts", str(summary_file)]
    argv += [w for k in from_tailcuts for w in ("--from-tailcuts", k)]
    return runner.main(argv + ["--", *write_tool(tmp_path, content)]), prod, handle


def test_product_is_written_at_lstosa_path_and_the_handle_links_to_it(tmp_path):
    rc, prod, handle = run_placed(tmp_path, "run 1874", summary(tmp_path, "tailcut1005", 0.14))
    assert rc == 0
    real = prod / "tailcut1005" / "nsb_tuning_0.14" / "dl2_LST-1.Run01874.h5"
    assert real.read_text() == "run 1874" and not real.is_symlink()
    assert handle.is_symlink() and os.readlink(handle) == "tailcut1005/nsb_tuning_0.14/dl2_LST-1.Run01874.h5"
    assert handle.read_text() == "run 1874"


def test_static_levels_when_the_tail_cuts_do_not_choose_them(tmp_path):
    rc, prod, handle = run_placed(tmp_path, "x", summary(tmp_path), from_tailcuts=())
    assert rc == 0 and (prod / "tailcut84" / "nsb_tuning_0.00" / "dl2_LST-1.Run01874.h5").read_text() == "x"


def test_rerun_with_other_tail_cuts_leaves_one_copy(tmp_path):
    run_placed(tmp_path, "first", summary(tmp_path, "tailcut84", 0.0))
    rc, prod, handle = run_placed(tmp_path, "second", summary(tmp_path, "tailcut1005", 0.14))
    assert rc == 0
    copies = sorted(p.relative_to(prod).as_posix() for p in prod.rglob("dl2_LST-1.Run01874.h5") if not p.is_symlink())
    assert copies == ["tailcut1005/nsb_tuning_0.14/dl2_LST-1.Run01874.h5"]
    assert handle.read_text() == "second"
    assert "removed" in (tmp_path / "merge.log").read_text()


def test_unreadable_summary_is_one_line_naming_it_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "tailcuts_Run01874.json"
    bad.write_text("{not json")
    rc, prod, handle = run_placed(tmp_path, "x", bad)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and str(bad) in err[0] and "merge_dl2 run 01874" in err[0]
    assert not prod.exists() or not any(prod.rglob("*.h5"))


def test_a_level_that_is_not_a_directory_name_is_refused(tmp_path):
    with pytest.raises(layout.LayoutError, match="dl1_prod_id"):
        layout.layout_values({}, summary(tmp_path, "../../etc"), ["dl1_prod_id"])


def test_pro_link_points_to_the_version_and_is_relative(tmp_path):
    version = tmp_path / "Cat-A" / "calibration" / "20200127" / "v0.12.3"
    version.mkdir(parents=True)
    (version / "calibration_filters_52.Run01873.0000.h5").write_text("cal")
    pro = layout.pro_link(version)
    assert os.readlink(pro) == "v0.12.3"
    assert (pro / "calibration_filters_52.Run01873.0000.h5").read_text() == "cal"
    (tmp_path / "other").mkdir()
    real_dir = version.parent / "pro2"
    real_dir.mkdir()
    os.rename(real_dir, version.parent / "pro.tmp")
    pro.unlink()
    (version.parent / "pro.tmp").rename(pro)  # a site's own pro directory
    with pytest.raises(layout.LayoutError, match="not a link"):
        layout.pro_link(version)


def test_longterm_links_follow_the_latest_production(tmp_path):
    root = tmp_path / "night_wise"
    for version in ("v0.9", "v0.10", "v0.12"):
        d = root / version / "20200127"
        d.mkdir(parents=True)
        for ext in ("h5", "html", "log"):
            (d / f"DL1_datacheck_20200127.{ext}").write_text(version)
    made = layout.longterm_links(root, "20200127", root)
    assert sorted(p.name for p in made) == [f"DL1_datacheck_20200127.{e}" for e in ("h5", "html", "log")]
    assert all(p.read_text() == "v0.12" for p in made)  # 0.12 > 0.10 > 0.9: numeric, not text order


def test_datacheck_links_name_each_file_and_refuse_a_missing_one(tmp_path):
    dc = tmp_path / "tailcut84" / "datacheck" / "datacheck_dl1_LST-1.Run01874.h5"
    mu = tmp_path / "muons" / "muons_LST-1.Run01874.fits"
    for f in (dc, mu):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(f.name)
    links = tmp_path / "datacheck_files" / "20200127"
    layout.datacheck_links(links, [dc], [mu])
    assert (links / dc.name).read_text() == dc.name and (links / "muons" / mu.name).read_text() == mu.name
    with pytest.raises(layout.LayoutError, match="missing.h5"):
        layout.datacheck_links(links, [tmp_path / "missing.h5"], [])


def test_default_prod_id_is_the_lstchain_major_version_of_the_tools():
    """The site's convention (LSTOSA's get_major_version, analysers' paths like DL1/<date>/v0.10/): a change of
    the pinned lstchain must come with a new default production."""
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[1]
    pin = next(line.split("==")[1].strip() for line in (root / "envs" / "lstchain-tools.txt").read_text().splitlines()
               if line.startswith("lstchain=="))
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    assert config["prod_id"] == "v" + ".".join(pin.split(".")[:2])
