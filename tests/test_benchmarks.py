"""Smoke runs of the benchmarks/ scripts at toy sizes: they run, measure and compare what they claim.

No timing is asserted (the figures are in docs/performance.md, measured on a quiet machine);
these tests check that each benchmark still works on the current workflow and that its
comparisons are like for like (same job graph, same products).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fake_tools import NIGHT, make_tools_bin, make_toy_night, toy_config_args

PROJECT = Path(__file__).resolve().parents[1]
BENCH = PROJECT / "benchmarks"
PY = PROJECT / ".venv" / "bin" / "python"

pytestmark = pytest.mark.benchmark


def run_bench(script: str, *args: str, timeout: float) -> str:
    """Run a benchmark script; its printed table."""
    r = subprocess.run([str(PY), str(BENCH / script), *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_dag_bench_compares_the_same_graph():
    out = run_bench("dag_bench.py", "--sizes", "40", timeout=600)
    assert len(out.splitlines()) == 2, out
    cols = out.splitlines()[0].split()
    values = out.splitlines()[1].split()
    assert values[0] == "40" and cols[0] == "sub-runs", out
    jobs, ref_jobs, decl_jobs = int(values[1]), int(values[5]), int(values[8])
    # 40 sub-runs x 3 jobs + calibration, per-run and night jobs; the references have the same shape
    assert 4 * 40 < jobs < 4 * 40 + 60, out  # per sub-run r0_to_dl1, dl1ab, datacheck, DL2
    assert abs(jobs - ref_jobs) <= 20 and abs(jobs - decl_jobs) <= 20, out
    dag_cpu, ref_cpu, ratio = float(values[2]), float(values[6]), float(values[7])
    # the printed CPU times are rounded to 0.1 s and the ratio (of the unrounded times) to 0.01: it must
    # lie in the interval those roundings allow, not within a fixed tolerance of the rounded quotient
    assert dag_cpu > 0 and ref_cpu > 0.05, out
    assert (dag_cpu - 0.05) / (ref_cpu + 0.05) - 0.005 <= ratio <= (dag_cpu + 0.05) / (ref_cpu - 0.05) + 0.005, out
    assert all(float(v) > 0 for v in values[11:]), out  # no-op, status, start-up, parse, job start


def test_sched_bench_runs_every_job():
    out = run_bench("sched_bench.py", "--ours", "12", "--ref", "12", timeout=900)
    rows = [ln.split() for ln in out.splitlines()[1:]]
    ours = [r for r in rows if r[0] == "ours"]
    refs = [r for r in rows if r[0] == "ref"]
    assert len(ours) == 1 and len(refs) == 2, out
    # "ours 12 sub-runs (fake tools)" then jobs: 3 per sub-run plus calibration, per-run and night jobs
    jobs = int(ours[0][5])
    assert 36 < jobs < 36 + 40, out
    total_ms, sched_ms, child_ms = (float(v) for v in ours[0][-3:])
    assert total_ms > sched_ms and child_ms > 0, out


def test_demo_bench_direct_script_makes_the_workflows_products(tmp_path):
    """The plain-script variants of benchmarks/demo_bench.py run the workflow's own commands and make
    the same final products (here with the fake tools, so it takes seconds)."""
    sys.path.insert(0, str(BENCH))
    try:
        import demo_bench
    finally:
        sys.path.remove(str(BENCH))
    data = tmp_path / "data"
    make_toy_night(data, NIGHT, {1874: 3, 1875: 2})
    tools = make_tools_bin(tmp_path / "tools")
    extra = [a for a in toy_config_args(tmp_path, tools) if not a.startswith("models_dir=")]
    models = Path(next(a for a in toy_config_args(tmp_path, tools) if a.startswith("models_dir="))[len("models_dir="):])
    made = {}
    for variant in demo_bench.VARIANTS:
        wall, cpu, njobs, products = demo_bench.run_variant(variant, tmp_path, data, tmp_path / f"out-{variant}",
                                                            models, cores=2, extra=extra)
        assert wall > 0 and cpu > 0
        made[variant] = products
    assert made["workflow"] == made["direct+runner"] == made["direct"]
    d = f"{NIGHT:%Y%m%d}"
    for run, subruns in ((1874, 3), (1875, 2)):
        assert f"DL2/{d}/v0.12/dl2_LST-1.Run{run:05d}.h5" in made["direct"]
        assert {f"DL1/{d}/v0.12/dl1_LST-1.Run{run:05d}.{s:04d}.h5" for s in range(subruns)} <= made["direct"]
    # 5 sub-run chains of 3, 6 jobs per run (3 merges, datacheck, plots, provenance), 6 calibration jobs (4 and
    # lstchain's two Cat-A PDFs), the run summary conversion, 5 night jobs (with LSTOSA's datacheck links; DL1b
    # and transparency are off with the fake tools)
    assert njobs == 3 * 5 + 6 * 2 + 6 + 1 + 5, njobs


def test_demo_bench_stages_compares_the_same_night_without_and_with_the_stages(tmp_path, monkeypatch, capsys):
    """--stages runs the workflow twice on one night, the first time with issue 14's stages switched off,
    and judges the ratio of the fastest walls against 1.5x (run_variant replaced: the real one is above)."""
    sys.path.insert(0, str(BENCH))
    try:
        import demo_bench
    finally:
        sys.path.remove(str(BENCH))
    calls, walls = [], iter([100.0, 140.0, 110.0, 130.0])  # before, after, before, after

    def fake_run_variant(variant, work, data, out, models, cores, extra=()):
        calls.append((variant, out.name, tuple(extra)))
        return next(walls), 1.0, 31, {"p"}

    monkeypatch.setattr(demo_bench, "run_variant", fake_run_variant)
    assert demo_bench.compare_stages(tmp_path, tmp_path / "data", tmp_path / "m", 2, repeat=2) == 0
    assert calls[0] == ("workflow", "out-before", demo_bench.STAGES_OFF) and calls[1] == ("workflow", "out-after", ())
    assert {"dl1ab=False", "apply_catB_calibration=False", "cherenkov_transparency=False",
            "provenance=False"} == set(demo_bench.STAGES_OFF)
    out = capsys.readouterr().out
    assert "ratio 1.30x: within" in out, out  # the fastest of each: 100 s before, 130 s after
    walls = iter([100.0, 151.0])
    assert demo_bench.compare_stages(tmp_path, tmp_path / "data", tmp_path / "m", 2, repeat=1) == 1
    assert "ratio 1.51x: ABOVE" in capsys.readouterr().out


@pytest.mark.slurm
def test_slurm_scale_bench_side_by_side_makes_the_same_products(slurm_cluster, tmp_path):
    """The smoke size of benchmarks/slurm_scale_bench.py: both variants run on the wide partition, make
    the same DL1/DL2 products, and every sub-run's r0_to_dl1 ran at once (6 sub-runs, 32 CPUs)."""
    import json
    out = run_bench("slurm_scale_bench.py", "--runs", "2", "2", "2", "--sleep", "5", "--json",
                    str(tmp_path / "r.json"), timeout=1200)
    assert "same DL1/DL2 products: True" in out, out
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["subruns"] == 6 and r["cpus"] >= 6 and r["same_products"]
    for variant in ("workflow", "reference"):
        assert r[variant]["n_r0"] == 6 and r[variant]["peak_r0"] == 6, r
        assert r[variant]["makespan"] > 5, r
    assert r["reference"]["sbatch"] == 1 + 3 + 3 + 1  # calibration, an array and a closer per run, night
    # the workflow: one sbatch per non-local job, among them one r0_to_dl1 per sub-run
    assert r["workflow"]["sbatch"] >= 3 * 6 and r["workflow"]["cpu"] > 0


@pytest.mark.slurm
def test_slurm_scale_bench_dl1b_runs_every_chain(slurm_cluster, tmp_path):
    """--dl1b: the workflow variant runs the DL1b stages (r0_to_dl1 jobs, per run finder and Cat-B, then
    a dl1b chain per sub-run), every r0_to_dl1 at once; the output says what each variant did."""
    import json
    out = run_bench("slurm_scale_bench.py", "--runs", "2", "2", "2", "--sleep", "5", "--dl1b", "--dl1ab-sleep", "2",
                    "--json", str(tmp_path / "r.json"), timeout=1200)
    assert "workflow: profiles/slurm, DL1b on" in out and "reference: LSTOSA-style arrays" in out, out
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["dl1b"] and r["ideal_workflow"] == 7 and not r["same_products"]
    wf = r["workflow"]
    assert wf["n_r0"] == 6 and wf["peak_r0"] == 6 and wf["n_dl1b"] == 6 and wf["peak_dl1b"] >= 2, wf
    assert set(wf["phases"]["r0_to_dl1b_gap_per_run"]) == {"01874", "01875", "01876"}, wf
    assert wf["phases"]["find_tailcuts"]["first_start"] < wf["phases"]["dl1b_chain"]["first_start"], wf


def test_slurm_scale_bench_dl1b_phases():
    """The phases the --dl1b output prints, from sacct rows (seconds from the start)."""
    sys.path.insert(0, str(PROJECT / "benchmarks"))
    import slurm_scale_bench as b
    rows = [{"name": n, "state": "COMPLETED", "start": s, "end": e} for n, s, e in (
        ("subrun_chain.Run01874.0000", 101, 160), ("subrun_chain.Run01874.0001", 102, 165),
        ("find_tailcuts.Run01874", 170, 172), ("catB_calibration.Run01874", 171, 173),
        ("dl1b_chain.Run01874.0000", 180, 190), ("dl1b_chain.Run01874.0001", 181, 192))]
    ph = b.dl1b_phases(rows + [{"name": "merge_dl1.Run01874", "state": "FAILED", "start": 193, "end": 194}], 100)
    assert ph["subrun_chain"] == {"first_start": 1, "last_end": 65, "max_duration": 63}
    assert ph["find_tailcuts"] == {"first_start": 70, "last_end": 72, "max_duration": 2}
    assert ph["dl1b_chain"]["last_end"] == 92 and ph["r0_to_dl1b_gap_per_run"] == {"01874": 15}


@pytest.mark.slurm
def test_slurm_scale_bench_dry_submission_submits_every_subrun():
    out = run_bench("slurm_scale_bench.py", "--dry-submit", "300", timeout=900)
    fields = out.split()
    assert fields[fields.index("sub-runs") + 1] == "300", out
    assert fields[fields.index("submitted") + 1] == "300", out


def test_status_bench_reports_the_status_of_the_night_it_made(tmp_path):
    """benchmarks/status_bench.py at 300 sub-runs (runs of 194 and 106): the status it times is the
    placed night's, in JSON and in the table."""
    import json
    out = run_bench("status_bench.py", "--sizes", "300", "--repeat", "1", "--json", str(tmp_path / "s.json"),
                    timeout=600)
    header, row = out.splitlines()
    assert header.split()[:3] == ["sub-runs", "runs", "files"] and header.endswith("status matches"), out
    values = row.split()
    assert values[:2] == ["300", "2"] and values[-1] == "True", out
    assert all(float(v) > 0 for v in values[3:7]), out  # json and table: wall and CPU seconds
    (r,) = json.loads((tmp_path / "s.json").read_text())
    data = {s["run"]: s for s in r["status"]["sequences"] if s["type"] == "DATA"}
    assert sorted(data) == [1874, 1875]
    assert data[1874]["planned_subruns"] == 194 and data[1874]["stages"] == {
        "r0_to_dl1": 1.0, "datacheck": 1.0, "dl1_to_dl2": 1.0, "merge": 1.0}
    assert data[1875]["planned_subruns"] == 106
    assert data[1875]["done"] == {"r0_to_dl1": 53, "datacheck": 26, "dl1_to_dl2": 13}
    assert data[1875]["failed_subruns"] == [105] and data[1875]["stages"]["merge"] == 0.0
    # 4 R0 streams per sub-run (and the DRS4 and CALI runs') and the products placed: 194*3 + 4 merged
    # + 53+26+13 + 3 calibration files + the failure marker, the night summary and the drive log
    assert r["files"] == (300 + 2) * 4 + 582 + 4 + 92 + 3 + 3, r["files"]
    line = next(ln for ln in r["table"].splitlines() if " 01875 " in ln)
    assert "50%" in line and "25%" in line and "12%" in line and " 105 " in line, r["table"]
    assert "Problems (1):" in r["table"]


@pytest.mark.tools
@pytest.mark.web
def test_follow_bench_publishes_every_run(tmp_path):
    """benchmarks/follow_bench.py at smoke size (1 DATA run, fast pace): the run is followed, closed and
    its datacheck PDF lands on the nginx server; idle cycles are counted (figures: docs/performance.md)."""
    import json  # noqa: PLC0415
    import shutil  # noqa: PLC0415

    from tiers import require_or_skip  # noqa: PLC0415

    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        require_or_skip("nginx not installed (tests/infra/install_web.sh)", tier="web")
    out = run_bench("follow_bench.py", "--data-runs", "1", "--subruns", "2", "--events", "60",
                    "--subrun-seconds", "4", "--run-gap", "4", "--cycle", "5", "--run-end-quiet", "15",
                    "--keep", str(tmp_path / "work"), timeout=2400)
    lines = out.splitlines()
    run_line = next(line for line in lines if line.startswith("run 0"))
    assert "latency" in run_line and "NOT published" not in run_line, out
    result = json.loads(lines[-1])
    (run,) = result["published"]
    assert result["published"][run] is not None
    assert result["run_states"][run]["state"] == "done" and result["run_states"][run]["complete_subruns"] == 2
    assert result["idle_cpu_s"]["n"] >= 1, "no idle cycle was measured"
    site = tmp_path / "work" / "nginx" / "root" / "v0.12" / "20200127"
    assert (site / "pdf" / f"datacheck_dl1_LST-1.Run{int(run):05d}.pdf").stat().st_size > 0
    assert 'id="live"' in (site / "index.html").read_text()
