"""scripts/lstosa-graph: usage on --help, only SVGs left behind, every job node names its run/sub-run."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from fake_tools import PROJECT, make_toy_night
from lstosa_snake.ops.graph import relabel

GRAPH = PROJECT / "scripts" / "lstosa-graph"


def test_help_prints_usage_and_exits_0():
    out = subprocess.run([str(GRAPH), "--help"], capture_output=True, text=True, timeout=60, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: lstosa-graph")
    for option in ("--date", "--run", "--out-dir", "--data-root", "--config KEY=VALUE"):
        assert option in out.stdout


def test_relabel_puts_run_and_subrun_in_the_label():
    dot = ('\t1[label = "r0_to_dl1\\nrun: 01874\\nsubrun: 0003", color = "x"];\n'
           '\t0[label = "merge_dl1\\nrun: 01874", color = "y"];\n'
           '\t5[label = "close_night", color = "z"];\n')
    assert relabel(dot) == ('\t1[label = "r0_to_dl1\\n01874.0003", color = "x"];\n'
                            '\t0[label = "merge_dl1\\n01874", color = "y"];\n'
                            '\t5[label = "close_night", color = "z"];\n')


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz dot not installed")
def test_graphs_of_a_toy_night(tmp_path):
    data = tmp_path / "data"
    make_toy_night(data, runs={1874: 3, 1875: 2})
    out_dir = tmp_path / "graphs"
    models = tmp_path / "models"  # the workflow checks models_dir at start (a clean clone has no demo models)
    models.mkdir()
    out = subprocess.run([str(GRAPH), "--date", "2020-01-27", "--data-root", str(data), "--run", "1875",
                          "--out-dir", str(out_dir), "--config", f"models_dir={models}"], capture_output=True,
                         text=True, timeout=240, cwd="/")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == ["dag_20200127_Run01875.svg", "rulegraph.svg"]
    svg = (out_dir / "dag_20200127_Run01875.svg").read_text()
    labels = [" ".join(re.sub(r"<[^>]+>", "", t).split()) for t in re.findall(r"<g id=\"node\d+\".*?</g>", svg, re.S)]
    labels = [re.sub(r"^\S+ ", "", lab, count=1) for lab in labels]  # drop the node's <title>
    expected = {"r0_to_dl1 01875.0000", "r0_to_dl1 01875.0001", "dl1_datacheck 01875.0001", "dl1_to_dl2 01875.0000",
                "merge_dl1 01875", "merge_dl2 01875", "merge_muons 01875", "run_datacheck 01875",
                "drs4_pedestal 01872", "time_calibration 01873", "charge_calibration 01873"}
    assert expected <= set(labels), labels
    # every per-run job names its run: only night-level rules carry no number
    assert all(re.search(r" \d{5}(\.\d{4})?$", lab) for lab in labels if not lab.startswith("run_summary")), labels
    assert "01874" not in svg  # the other run's jobs are not drawn
