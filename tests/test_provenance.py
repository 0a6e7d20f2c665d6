"""Provenance: the runner's per-job records, the per-run W3C PROV documents and ``lstosa-status --provenance``.

The first tests run a two-job chain of real programs through the runner (as the workflow does) and
read the assembled document back with the ``prov`` library; the last ones check the documents the
workflow made for the night processed with the real lstchain tools (``local_night``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prov.model import ProvActivity, ProvAgent, ProvAssociation, ProvDocument, ProvEntity, ProvGeneration, ProvUsage

from lstosa_snake.provenance import chain, document, records
from lstosa_snake.jobs.runner import main as runner_main
from synthetic_fixtures import LST_BIN

DATE = "20200127"
PROD = "v0.12"
SORT = shutil.which("sort")


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load(path: Path) -> ProvDocument:
    return ProvDocument.deserialize(content=Path(path).read_text())


def records_of(doc: ProvDocument, cls):
    return list(doc.get_records(cls))


def attr(record, name: str):
    values = [v for k, v in record.attributes if str(k) == name]
    return values[0] if values else None


def by_path(doc: ProvDocument) -> dict[str, ProvEntity]:
    return {attr(e, "lstosa:path"): e for e in records_of(doc, ProvEntity)}


def by_label(doc: ProvDocument) -> dict[str, ProvActivity]:
    return {attr(a, "prov:label"): a for a in records_of(doc, ProvActivity)}


def used(doc: ProvDocument) -> set[tuple[str, str, str]]:
    """(activity id, entity id, role) of every usage."""
    return {(str(u.formal_attributes[0][1]), str(u.formal_attributes[1][1]), str(attr(u, "prov:role")))
            for u in records_of(doc, ProvUsage)}


def generated(doc: ProvDocument) -> set[tuple[str, str]]:
    """(entity id, activity id) of every generation."""
    return {(str(g.formal_attributes[0][1]), str(g.formal_attributes[1][1])) for g in records_of(doc, ProvGeneration)}


@pytest.fixture
def chain_tree(tmp_path):
    """An LST-like tree with a raw sub-run (four streams), a configuration file and two jobs run by the
    runner: sort(raw stream 1, config) -> DL1 file, then sort(staged DL1 file) -> run file."""
    if SORT is None:
        pytest.skip("no sort program")
    r0 = tmp_path / "R0" / DATE
    r0.mkdir(parents=True)
    for s in (1, 2, 3, 4):
        (r0 / f"LST-1.{s}.Run01874.0000.fits.fz").write_text(f"stream {s}\nb\na\n")
    config = tmp_path / "config" / "tool config.json"  # a space: paths are passed without a shell
    config.parent.mkdir()
    config.write_text('{"cleaning": {"picture_thresh": 8}}\n')
    running = tmp_path / "running_analysis" / DATE / PROD
    dl1 = tmp_path / "DL1" / DATE / PROD
    sub = dl1 / "dl1_LST-1.Run01874.0000.h5"
    run = dl1 / "dl1_LST-1.Run01874.h5"
    common = ["--staging-root", str(running / "staging")]
    assert runner_main([*common, "--label", "r0_to_dl1 run 01874 sub-run 0000", "--log", str(running / "log" / "a.log"),
                        "--out", f"out.h5={sub}", "--", SORT, "-o", "{staging}/out.h5",
                        str(r0 / "LST-1.1.Run01874.0000.fits.fz"), str(config)]) == 0
    assert runner_main([*common, "--label", "merge_dl1 run 01874", "--log", str(running / "log" / "b.log"),
                        "--stage-input", str(sub), "--out", f"merged.h5={run}", "--",
                        SORT, "-o", "{staging}/merged.h5", f"{{inputs}}/{sub.name}"]) == 0
    return {"root": tmp_path, "r0": r0, "config": config, "sub": sub, "run": run, "running": running}


def test_runner_writes_one_record_per_job(chain_tree):
    jobs = chain_tree["running"] / "provenance" / "jobs"
    rec = json.loads((jobs / "r0_to_dl1_run_01874_sub-run_0000.json").read_text())
    assert rec["schema"] == records.RECORD_SCHEMA and rec["tool"] == "sort"
    assert rec["command"][0] == SORT and rec["command_line"].startswith(SORT)
    inputs = {i["path"]: i for i in rec["inputs"]}
    streams = [str(chain_tree["r0"] / f"LST-1.{s}.Run01874.0000.fits.fz") for s in (1, 2, 3, 4)]
    assert set(inputs) == {*streams, str(chain_tree["config"])}  # the tool reads all four streams
    assert inputs[str(chain_tree["config"])]["role"] == "config"
    assert inputs[str(chain_tree["config"])]["sha256"] == sha(chain_tree["config"])
    assert inputs[streams[2]]["size"] == chain_tree["r0"].joinpath(Path(streams[2]).name).stat().st_size
    (out,) = rec["outputs"]
    assert out["path"] == str(chain_tree["sub"]) and out["sha256"] == sha(chain_tree["sub"])
    assert rec["start"] <= rec["end"] and rec["host"]
    merge = json.loads((jobs / "merge_dl1_run_01874.json").read_text())
    assert [i["path"] for i in merge["inputs"]] == [str(chain_tree["sub"])]  # the staged link's target


def test_run_document_chains_back_to_raw_files(chain_tree, tmp_path):
    out_json, out_svg = tmp_path / "prov.json", tmp_path / "prov.svg"
    summary = document.run_provenance([chain_tree["run"]], [chain_tree["running"] / "provenance" / "jobs"],
                                        out_json, out_svg)
    assert summary["activities"] == 2 and summary["leaves"] == 5  # 4 raw streams + the configuration
    doc = load(out_json)
    acts, files = by_label(doc), by_path(doc)
    assert set(acts) == {"r0_to_dl1 run 01874 sub-run 0000", "merge_dl1 run 01874"}
    r0, merge = acts["r0_to_dl1 run 01874 sub-run 0000"], acts["merge_dl1 run 01874"]
    assert attr(r0, "lstosa:tool") == "sort" and attr(r0, "lstosa:command").startswith(SORT)
    cfg = files[str(chain_tree["config"])]
    assert attr(cfg, "lstosa:sha256") == sha(chain_tree["config"])
    assert str(attr(cfg, "prov:type")) == "lstosa:ConfigurationFile"
    rel = used(doc)
    for s in (1, 2, 3, 4):
        raw = files[str(chain_tree["r0"] / f"LST-1.{s}.Run01874.0000.fits.fz")]
        assert (str(r0.identifier), str(raw.identifier), "input") in rel
        assert str(attr(raw, "prov:type")) == "lstosa:RawData"
    assert (str(r0.identifier), str(cfg.identifier), "config") in rel
    assert (str(merge.identifier), str(files[str(chain_tree["sub"])].identifier), "input") in rel
    gen = generated(doc)
    assert (str(files[str(chain_tree["sub"])].identifier), str(r0.identifier)) in gen
    assert (str(files[str(chain_tree["run"])].identifier), str(merge.identifier)) in gen
    assert str(attr(files[str(chain_tree["run"])], "prov:type")) == "lstosa:FinalProduct"
    assert len(records_of(doc, ProvAgent)) == 1 and len(records_of(doc, ProvAssociation)) == 2
    svg = out_svg.read_text()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "</svg>" in svg
    if shutil.which("dot"):
        assert "merge_dl1 run 01874" in svg  # the graph itself, not the placeholder


def test_explain_prints_the_chain_to_the_raw_files(chain_tree):
    out = io.StringIO()
    assert chain.explain(chain_tree["run"], out=out) == 0  # records found from the file's path alone
    text = out.getvalue()
    assert text.index("made by merge_dl1 run 01874") < text.index("made by r0_to_dl1 run 01874 sub-run 0000")
    for s in (1, 2, 3, 4):
        assert f"LST-1.{s}.Run01874.0000.fits.fz  [raw" in text
    assert f"{chain_tree['config']}  [config" in text and sha(chain_tree["config"])[:16] in text
    assert chain.explain(chain_tree["r0"] / "LST-1.1.Run01874.0000.fits.fz", out=io.StringIO()) == 1


def test_status_provenance_option(chain_tree):
    proc = subprocess.run([sys.executable, "-m", "lstosa_snake.status.overview", "--provenance", str(chain_tree["run"])],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "made by merge_dl1 run 01874" in proc.stdout and "made by r0_to_dl1" in proc.stdout
    missing = subprocess.run([sys.executable, "-m", "lstosa_snake.status.overview", "--provenance",
                              str(chain_tree["root"] / "nothing.h5")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "no provenance record" in missing.stdout


@pytest.mark.tools
def test_tool_version_read_from_the_tools_environment():
    tool = LST_BIN / "lstchain_check_dl1"
    if not tool.exists():
        from tiers import require_or_skip
        require_or_skip(f"lstchain tools not installed in {LST_BIN}", tier="tools")
    version = subprocess.run([str(LST_BIN / "python"), "-c", "import lstchain; print(lstchain.__version__)"],
                             capture_output=True, text=True, timeout=300, check=True).stdout.strip()
    ident = records.tool_identity([str(tool), "--help"])
    assert ident["tool"] == "lstchain_check_dl1" and ident["distribution"] == "lstchain"
    assert ident["version"] == version and ident["versions"]["lstchain"] == version
    assert "ctapipe" in ident["versions"] and ident["python"].startswith("3.")
    fix = records.tool_identity([str(LST_BIN / "lstosa-merge-hdf5-files")])  # our work-around command
    assert fix["distribution"] == "lstosa_snake" and fix["versions"]["lstchain"] == version


# --------------------------------------------------------------------------- the real-tool night


def data_runs(night) -> list[int]:
    plan = json.loads((night.data_root / "synthetic_truth" / DATE / "night.json").read_text())
    return [r["run"] for r in plan["runs"] if r["run_type"] == "DATA"]


@pytest.mark.e2e
@pytest.mark.tools
def test_night_documents_name_the_real_inputs_and_tool_versions(local_night):
    from e2e_fixtures import EXCLUDED

    version = subprocess.run([str(LST_BIN / "python"), "-c", "import lstchain; print(lstchain.__version__)"],
                             capture_output=True, text=True, timeout=300, check=True).stdout.strip()
    ex_run, ex_sub = (int(x) for x in EXCLUDED.split("."))
    config = Path(__file__).resolve().parents[1] / "config" / "lstchain" / "lstchain_config.json"
    for run in data_runs(local_night):
        doc = load(local_night.product("DL1", DATE, PROD, "provenance", f"prov_LST-1.Run{run:05d}.json"))
        acts, files, rel = by_label(doc), by_path(doc), used(doc)
        subruns = [s for s in (0, 1) if (run, s) != (ex_run, ex_sub)]
        for s in subruns:
            act = acts[f"r0_to_dl1 run {run:05d} sub-run {s:04d}"]
            assert attr(act, "lstosa:tool") == "lstchain_data_r0_to_dl1"
            assert attr(act, "lstosa:tool_version") == version
            assert json.loads(attr(act, "lstosa:versions"))["lstchain"] == version
            for stream in (1, 2, 3, 4):
                raw = files[str(local_night.product("R0", DATE, f"LST-1.{stream}.Run{run:05d}.{s:04d}.fits.fz"))]
                assert (str(act.identifier), str(raw.identifier), "input") in rel
            cfg = files[str(config)]
            assert attr(cfg, "lstosa:sha256") == sha(config)
            assert (str(act.identifier), str(cfg.identifier), "config") in rel
            assert f"dl1_to_dl2 run {run:05d} sub-run {s:04d}" in acts
        assert not any(f"sub-run {ex_sub:04d}" in a for a in acts if run == ex_run)
        # the calibration chain: the r0_to_dl1 jobs used the DRS4 pedestal and charge calibration made tonight
        labels = " | ".join(acts)
        assert "drs4_pedestal run" in labels and "charge_calibration run" in labels
        # connected: every DL1 file a job used was made by a job of the document (also through the dl1b/ link)
        made = {e for e, _ in generated(doc)}
        used_dl1 = {e for _, e, _ in rel if "dl1_LST-1" in e or "datacheck_dl1" in e}
        assert used_dl1 and used_dl1 <= made, used_dl1 - made
        # the merged DL2 is in LSTOSA's <tailcut>/<nsb_tuning>/ (docs/layout.md): the document names that file
        dl2_path = os.path.realpath(local_night.product("DL2", DATE, PROD, f"dl2_LST-1.Run{run:05d}.h5"))
        assert "/tailcut" in dl2_path and "/nsb_tuning_" in dl2_path, dl2_path
        dl2 = files[dl2_path]
        assert (str(dl2.identifier), str(acts[f"merge_dl2 run {run:05d}"].identifier)) in generated(doc)
        svg = local_night.product("DL1", DATE, PROD, "provenance", f"prov_LST-1.Run{run:05d}.svg").read_text()
        assert "</svg>" in svg and (f"merge_dl2 run {run:05d}" in svg or not shutil.which("dot"))
    night = json.loads(local_night.product("datacheck_web", PROD, DATE, "night.json").read_text())
    linked = {p["path"] for p in night["pdfs"]}
    for run in data_runs(local_night):
        assert {f"prov_LST-1.Run{run:05d}.json", f"prov_LST-1.Run{run:05d}.svg"} <= linked


@pytest.mark.e2e
@pytest.mark.tools
def test_status_explains_a_dl2_file_back_to_the_raw_files(local_night):
    run = data_runs(local_night)[0]
    dl2 = local_night.product("DL2", DATE, PROD, f"dl2_LST-1.Run{run:05d}.h5")
    proc = subprocess.run([sys.executable, "-m", "lstosa_snake.status.overview", "--provenance", str(dl2)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    order = [text.index(f"made by merge_dl2 run {run:05d}"), text.index(f"made by dl1_to_dl2 run {run:05d}"),
             text.index(f"made by r0_to_dl1 run {run:05d}"), text.index("made by charge_calibration run"),
             text.index("made by drs4_pedestal run")]
    assert order[:3] == sorted(order[:3])
    assert f"LST-1.1.Run{run:05d}.0000.fits.fz  [raw" in text
    assert "lstchain_data_r0_to_dl1 lstchain " in text


def test_copy_input_updates_a_copy_never_the_file(tmp_path):
    """runner --copy-input (cherenkov_transparency's way): the tool updates a copy in its staging directory,
    the copy replaces the final file by rename, the given file is left as it was."""
    sed = shutil.which("sed")
    if sed is None:
        pytest.skip("no sed program")
    src = tmp_path / "running_analysis" / DATE / PROD / "night_datacheck" / "night.h5"
    src.parent.mkdir(parents=True)
    src.write_text("longterm\n")
    final = tmp_path / "DL1" / "datacheck_files" / "night.h5"
    staging = tmp_path / "running_analysis" / DATE / PROD / "staging"
    assert runner_main(["--staging-root", str(staging), "--label", "cherenkov_transparency x",
                        "--log", str(tmp_path / "t.log"), "--copy-input", f"night.h5={src}",
                        "--out", f"night.h5={final}", "--", sed, "-i", "s/$/ + transparency/",
                        "{staging}/night.h5"]) == 0
    assert src.read_text() == "longterm\n" and final.read_text() == "longterm + transparency\n"
    rec = json.loads((staging.parent / "provenance" / "jobs" / "cherenkov_transparency_x.json").read_text())
    assert [i["path"] for i in rec["inputs"]] == [str(src)] and rec["inputs"][0]["sha256"] == sha(src)
    assert [o["path"] for o in rec["outputs"]] == [str(final)]


def test_picture_of_a_long_run_folds_its_subruns(tmp_path, monkeypatch):
    """Above PICTURE_FOLD_ABOVE jobs the graph shows one node per step and per sub-run file set (LSTOSA's
    collections); the PROV-JSON keeps every job."""
    if SORT is None:
        pytest.skip("no sort program")
    running = tmp_path / "running_analysis" / DATE / PROD
    dl1 = tmp_path / "DL1" / DATE / PROD
    subs = []
    for s in range(3):
        raw = tmp_path / "R0" / DATE / f"LST-1.1.Run01874.{s:04d}.fits.fz"
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(f"{s}\n")
        subs.append(dl1 / f"dl1_LST-1.Run01874.{s:04d}.h5")
        assert runner_main(["--staging-root", str(running / "staging"), "--label", f"r0_to_dl1 run 01874 sub-run {s:04d}",
                            "--log", str(tmp_path / "l.log"), "--out", f"o.h5={subs[-1]}", "--",
                            SORT, "-o", "{staging}/o.h5", str(raw)]) == 0
    run = dl1 / "dl1_LST-1.Run01874.h5"
    assert runner_main(["--staging-root", str(running / "staging"), "--label", "merge_dl1 run 01874",
                        "--log", str(tmp_path / "l.log"), *[a for s in subs for a in ("--stage-input", str(s))],
                        "--out", f"m.h5={run}", "--", SORT, "-o", "{staging}/m.h5", "{inputs}/" + subs[0].name]) == 0
    monkeypatch.setattr(document, "PICTURE_FOLD_ABOVE", 2)
    summary = document.run_provenance([run], [running / "provenance" / "jobs"], tmp_path / "p.json", tmp_path / "p.svg")
    assert summary["activities"] == 4 and len(records_of(load(tmp_path / "p.json"), ProvActivity)) == 4
    if shutil.which("dot"):
        svg = (tmp_path / "p.svg").read_text()
        assert "r0_to_dl1 run 01874 (3 sub&#45;runs)" in svg and "sub&#45;run 0001" not in svg
        assert "dl1_LST&#45;1.Run01874.*.h5 (3 files)" in svg and "dl1_LST&#45;1.Run01874.h5 (" not in svg
