"""The night's input state (legacy_raw / gain_selected / catA_calibrated) read from the raw files.

Fast tests classify hand-made facts; the ``tools`` tests read files written by the project's generator
in each state (and EVBv5), and check the one-line errors of the workflow on a mixed night.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lstosa_snake.night.input_state import (
    CATA_CALIBRATED,
    GAIN_SELECTED,
    LEGACY_RAW,
    InputStateError,
    RawFacts,
    classify,
    is_evbv5,
    night_state,
    read_facts,
)

F = Path("LST-1.1.Run01874.0000.fits.fz")
DRS4_DONE = 0b1110  # baseline subtraction, delta-t, spikes
GAIN_SEL = 0b1


def facts(mono=DRS4_DONE, channels=(), actions=(), fmt="CTAR1"):
    return RawFacts(F, fmt, mono, frozenset(channels), frozenset(actions))


@pytest.mark.parametrize("f, state", [
    (facts(DRS4_DONE | GAIN_SEL, {1}, {DRS4_DONE | GAIN_SEL}), GAIN_SELECTED),
    (facts(DRS4_DONE, {2}, {DRS4_DONE}), LEGACY_RAW),
    (facts(DRS4_DONE | GAIN_SEL | 1 << 5 | 1 << 6, {1}, {DRS4_DONE | GAIN_SEL | 1 << 6}), CATA_CALIBRATED),
    (facts(DRS4_DONE, {1}, {DRS4_DONE | 1 << 6}), CATA_CALIBRATED),  # the events' actions count too
    (facts(DRS4_DONE | GAIN_SEL), GAIN_SELECTED),  # no physics event read: the configuration decides
    (facts(DRS4_DONE), LEGACY_RAW),
    (facts(None, fmt="LSTCAM"), LEGACY_RAW),  # EVBv5: both gains
    (facts(None, {1}), GAIN_SELECTED),  # no configured actions: the events decide
])
def test_classify(f, state):
    assert classify(f) == state


@pytest.mark.parametrize("f, words", [
    (facts(DRS4_DONE, {1, 2}), "[1, 2] gains"),
    (facts(DRS4_DONE | GAIN_SEL, {2}), "declares gain selection"),
    (facts(DRS4_DONE, {1}), "declares no gain selection"),
    (facts(DRS4_DONE, {3}), "3 gain channels"),
    (facts(None), "no camera configuration actions"),
])
def test_classify_refuses_what_fits_no_state(f, words):
    with pytest.raises(InputStateError) as err:
        classify(f)
    assert F.name in str(err.value) and words in str(err.value) and "\n" not in str(err.value)


PRIMARY = b"SIMPLE  =                    T".ljust(2880, b" ")
#: the headers of a file with a table, and no readable table content
WITH_TABLE = PRIMARY + b"XTENSION= 'BINTABLE'           / binary table extension".ljust(2880, b" ")


def _files(tmp_path, runs, content=WITH_TABLE):
    out = {}
    for run in runs:
        p = tmp_path / f"LST-1.1.Run{run:05d}.0000.fits.fz"
        p.write_bytes(content)
        out[run] = p
    return out


def test_night_state_from_the_runs_files(tmp_path):
    files = _files(tmp_path, (1874, 1875))
    state = night_state("auto", files, reader=lambda p: facts(DRS4_DONE, {2}))
    assert state.state == LEGACY_RAW and state.needs_gain_selection and state.needs_calibration
    assert set(state.per_run) == {1874, 1875}
    assert "read from the raw files of run(s) 01874, 01875" in state.describe()


def test_jobs_read_one_run_only(tmp_path):
    files = _files(tmp_path, (1874, 1875, 1876))
    read = []

    def reader(p):
        read.append(p)
        return facts(DRS4_DONE, {2})

    assert night_state("auto", files, reader=reader, first_only=True).state == LEGACY_RAW
    assert read == [files[1874]]


def test_night_whose_runs_disagree_is_one_line_naming_them(tmp_path):
    files = _files(tmp_path, (1874, 1875))
    by_run = {files[1874]: facts(DRS4_DONE, {2}), files[1875]: facts(DRS4_DONE | GAIN_SEL, {1})}
    with pytest.raises(InputStateError) as err:
        night_state("auto", files, reader=by_run.__getitem__)
    msg = str(err.value)
    assert "run 01874 legacy_raw (LST-1.1.Run01874.0000.fits.fz)" in msg
    assert "run 01875 gain_selected (LST-1.1.Run01875.0000.fits.fz)" in msg
    assert "input_state" in msg and "\n" not in msg


def test_unreadable_file_names_run_and_file(tmp_path):
    files = _files(tmp_path, (1874,))
    with pytest.raises(InputStateError) as err:
        night_state("auto", files)  # headers but no zfits table: the real reader
    assert str(err.value).startswith("run 01874: ") and str(files[1874]) in str(err.value)


def test_files_without_a_table_yet_are_not_read_and_the_state_is_assumed(tmp_path):
    empty = tmp_path / "LST-1.1.Run01874.0000.fits.fz"
    empty.touch()
    primary_only = _files(tmp_path / "p", (1876,), content=PRIMARY) if (tmp_path / "p").mkdir() is None else {}

    def reader(_):
        raise AssertionError("a file without a table must not be read")

    state = night_state("auto", {1874: empty, 1875: tmp_path / "absent.fits.fz", **primary_only}, reader=reader)
    assert (state.state, state.source) == (GAIN_SELECTED, "assumed") and not state.needs_gain_selection
    assert "assumed" in state.describe()


def test_forced_state_reads_no_event(tmp_path):
    files = _files(tmp_path, (1874,))

    def reader(_):
        raise AssertionError("a forced state reads no event")

    state = night_state("catA_calibrated", files, reader=reader)
    assert state.state == CATA_CALIBRATED and not state.needs_calibration and state.source == "config"
    with pytest.raises(InputStateError, match="'raw' is not one of"):
        night_state("raw", files)


# --- on the generator's files ------------------------------------------------------------------

@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    from synthetic_fixtures import LST_BIN, make_night
    from tiers import require_or_skip

    if not (LST_BIN / "lstosa-make-night").exists():
        require_or_skip(f"lstchain tools not installed in {LST_BIN}", tier="tools")
    small = dict(data_runs=2, subruns=1, events_per_subrun=40, drs4_events=500, cali_events=20)
    root = tmp_path_factory.mktemp("states")
    out = {state: make_night(root / state, **small, input_state=state) for state in (GAIN_SELECTED, LEGACY_RAW)}
    out["evbv5"] = make_night(root / "evbv5", **small, data_format="LSTCAM")
    return out


def _first(night: Path, run: int) -> Path:
    return night / "R0" / "20200127" / f"LST-1.1.Run{run:05d}.0000.fits.fz"


@pytest.mark.tools
def test_generator_files_read_back_as_their_state(nights):
    gs = read_facts(_first(nights[GAIN_SELECTED], 2003))
    assert classify(gs) == GAIN_SELECTED and gs.physics_channels == {1} and gs.mono_action & GAIN_SEL
    raw = read_facts(_first(nights[LEGACY_RAW], 2003))
    assert classify(raw) == LEGACY_RAW and raw.physics_channels == {2} and not raw.mono_action & GAIN_SEL
    v5 = read_facts(_first(nights["evbv5"], 2003))
    assert v5.data_format == "LSTCAM" and classify(v5) == LEGACY_RAW
    assert is_evbv5(_first(nights["evbv5"], 2003)) and not is_evbv5(_first(nights[LEGACY_RAW], 2003))
    # the calibration runs keep both gains in every state: they do not decide the night
    assert read_facts(_first(nights[GAIN_SELECTED], 2002)).physics_channels == frozenset()
    ev5 = night_state("auto", {2003: _first(nights["evbv5"], 2003)})
    assert ev5.state == LEGACY_RAW and ev5.evbv5 and not ev5.needs_gain_selection  # r0_to_r0g cannot read EVBv5


def _dry_run(data_root: Path, tmp_path: Path, *extra):
    from slurm_fixtures import REPO, clean_env

    return subprocess.run(
        [str(REPO / ".venv" / "bin" / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "-n", "--cores", "1",
         "--directory", str(tmp_path / "work"), "--config", "date=2020-01-27", f"data_root={data_root}",
         f"output_root={tmp_path / 'out'}", f"models_dir={tmp_path}", *extra],
        capture_output=True, text=True, env=clean_env(), timeout=300,
    )


@pytest.mark.tools
def test_workflow_plans_gain_selection_only_for_legacy_raw(nights, tmp_path):
    legacy = _dry_run(nights[LEGACY_RAW], tmp_path)
    assert legacy.returncode == 0, legacy.stderr[-3000:]
    assert "rule gain_selection:" in legacy.stdout
    assert legacy.stdout.count("rule gain_selection:") == 2  # one per DATA sub-run, none for DRS4/CALI
    assert f"--input-file {tmp_path / 'out'}/R0G/20200127/LST-1.1.Run02003.0000.fits.fz" in legacy.stdout
    assert "Run02002" not in "".join(l for l in legacy.stdout.splitlines() if "lstchain_r0_to_r0g" in l)
    for night in (nights[GAIN_SELECTED], nights["evbv5"]):
        out = _dry_run(night, tmp_path)
        assert out.returncode == 0, out.stderr[-3000:]
        assert "rule gain_selection:" not in out.stdout and "lstchain_r0_to_r0g" not in out.stdout
        assert "/R0G/" not in out.stdout
    # forcing the state overrides what the files say
    forced = _dry_run(nights[GAIN_SELECTED], tmp_path, "input_state=legacy_raw")
    assert forced.returncode == 0 and forced.stdout.count("rule gain_selection:") == 2


@pytest.mark.tools
def test_mixed_night_stops_with_one_line_naming_the_runs(nights, tmp_path):
    mixed = tmp_path / "mixed"
    shutil.copytree(nights[LEGACY_RAW], mixed)
    for s in (1, 2, 3, 4):  # run 02004 as the event builder gain-selected it
        name = f"LST-1.{s}.Run02004.0000.fits.fz"
        shutil.copy(nights[GAIN_SELECTED] / "R0" / "20200127" / name, mixed / "R0" / "20200127" / name)
    out = _dry_run(mixed, tmp_path)
    assert out.returncode != 0
    errors = [l for l in out.stderr.splitlines() if "ERROR" in l]
    assert len(errors) == 1, out.stderr[-3000:]
    assert "run 02003 legacy_raw (LST-1.1.Run02003.0000.fits.fz)" in errors[0]
    assert "run 02004 gain_selected (LST-1.1.Run02004.0000.fits.fz)" in errors[0]
    assert "Traceback" not in out.stderr


def test_plan_takes_the_state_the_main_snakemake_read(tmp_path):
    """The jobs Snakemake starts get the state through the environment (workflow/rules/common.smk) and read no
    raw file; a state set in the configuration still wins."""
    from fake_tools import PROJECT, make_toy_night

    from lstosa_snake.night.plan import plan_night

    data = tmp_path / "data"
    make_toy_night(data, runs={1874: 2})
    config = {"date": "2020-01-27", "data_root": str(data), "prod_id": "v0.12", "calibration_version": "v0.12.3"}
    assert plan_night(config, PROJECT).input_state.source == "assumed"  # stand-ins: no table to read
    job = plan_night(config, PROJECT, known_state="legacy_raw").input_state
    assert (job.state, job.source, job.needs_gain_selection) == (LEGACY_RAW, "raw files", True)
    assert plan_night(config, PROJECT, known_state="legacy_raw").r0_for_dl1(1874, 1, 3) == \
        data / "R0G" / "20200127" / "LST-1.3.Run01874.0001.fits.fz"
    ev5 = plan_night(config, PROJECT, known_state="legacy_raw,evbv5").input_state
    assert ev5.evbv5 and not ev5.needs_gain_selection
    forced = plan_night({**config, "input_state": "gain_selected"}, PROJECT, known_state="legacy_raw").input_state
    assert (forced.state, forced.source) == (GAIN_SELECTED, "config")
    assert plan_night(config, PROJECT, known_state="nonsense").input_state.source == "assumed"
