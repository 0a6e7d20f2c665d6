"""What LSTOSA 0.11.10's own code finds in a night's product tree (issue 22).

Run in the tools' environment, with LSTOSA installed by scripts/install_lstosa_reference.sh::

    .venv-lst/bin/python tests/lstosa_reference.py --base BASE --date 2020-01-27 --prod-id v0.12 \
        --runs 2003 2004 --calibration-runs 2001 2002 [--dl1-prod-id tailcut84] [--nsb-prod-id nsb_tuning_0.00]

A temporary sequencer.cfg (LSTOSA's default, BASE set) is read by LSTOSA's config at import; then
LSTOSA's path functions (osa.paths, osa.utils.utils, the closer, copy_datacheck, the sequencer's
status table) and lstchain.onsite's finders are CALLED. What they only do inside an sbatch command
or a lstchain tool (globs of lstchain_merge_hdf5_files, lstchain_check_dl1, ...) or as a local of a
function that submits jobs (the closer's regexes) is replayed here, quoting file:line of lstosa
0.11.10 (osa/...) or lstchain 0.12.3 (lstchain/...).

Prints one JSON object: {"kinds": {kind: {"how", "source", "paths", "runs": {"02003": [...]}, ...}}, ...}.
A kind's "error" says why LSTOSA's function raised. Only what these functions find is reported: our
own extra files (DL1a sub-runs, links at the layout without tail-cut directory) are never listed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import sys
import tempfile
from glob import glob
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / ".cache" / "lstosa-reference"  # scripts/install_lstosa_reference.sh
LSTOSA_VERSION = "0.11.10"
CAT_A_KINDS = ("drs4_baseline", "calibration", "drs4_time_sampling_from_FF")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", type=Path, required=True, help="the tree's root (LSTOSA's BASE, our output_root)")
    p.add_argument("--date", required=True, help="YYYY-MM-DD")
    p.add_argument("--prod-id", required=True)
    p.add_argument("--runs", type=int, nargs="+", required=True, help="the night's DATA runs")
    p.add_argument("--calibration-runs", type=int, nargs=2, required=True, metavar=("DRS4", "PEDCAL"))
    p.add_argument("--dl1-prod-id", nargs="+", default=None,
                   help="for runs without auxiliary/TailCuts/dl1ab_RunNNNNN.json: one for all runs, or one per run")
    p.add_argument("--nsb-prod-id", default=None, help="default: the nsb_tuning_X.XX directory holding the run's DL2")
    p.add_argument("--reference", type=Path, default=REFERENCE, help="where lstosa is installed")
    return p.parse_args(argv)


def write_cfg(reference: Path, base: Path, prod_id: str, merged_summary: Path, out: Path) -> Path:
    """LSTOSA's default sequencer.cfg with our BASE and prod id (text edits: interpolations stay)."""
    text = (reference / "osa" / "configs" / "sequencer.cfg").read_text()
    for key, value in (("BASE", base), ("PROD_ID", prod_id), ("MERGED_SUMMARY", merged_summary)):
        text, n = re.subn(rf"^{key}:.*$", f"{key}: {value}", text, count=1, flags=re.M)
        assert n == 1, f"no {key} in LSTOSA's sequencer.cfg"
    out.write_text(text)
    return out


def write_merged_summary(path: Path, runs, date: str) -> Path:
    """LSTOSA's catalogue of each run's date (osa/paths.py:74-92 get_run_date), an input of LSTOSA,
    not a product: written for the night's runs when the tree has none."""
    from astropy.table import Table

    Table({"run_id": list(runs), "date": [date] * len(runs)}).write(path, format="ascii.ecsv")
    return path


def import_lstosa(reference: Path, cfg_path: Path):
    """Import LSTOSA with our cfg: osa/configs/config.py:31-36 reads `-c CFG` from sys.argv at import."""
    sys.path.insert(0, str(reference))
    saved, sys.argv = sys.argv, [sys.argv[0], "-c", str(cfg_path)]
    try:
        import osa
        from osa.configs import config, options
        import osa.paths
        import osa.utils.utils
        import osa.scripts.closer
        import osa.scripts.copy_datacheck
        import osa.scripts.sequencer
    finally:
        sys.argv = saved
    if Path(options.configfile) != cfg_path:
        raise RuntimeError(f"LSTOSA read {options.configfile}, not {cfg_path}")
    if not Path(osa.__file__).is_relative_to(reference):
        raise RuntimeError(f"osa imported from {osa.__file__}, not from {reference}")
    return config.cfg, options


class Findings:
    """kind -> {"how", "source", "paths", "runs"}; a kind that raised keeps its error."""

    def __init__(self):
        self.kinds: dict[str, dict] = {}

    def entry(self, kind: str, how: str, source: str) -> dict:
        return self.kinds.setdefault(kind, {"how": how, "source": source, "paths": [], "runs": {}})

    def add(self, kind, how, source, paths=(), run=None, **extra) -> dict:
        e = self.entry(kind, how, source)
        found = sorted(str(p) for p in paths)
        e["paths"] = sorted(set(e["paths"]) | set(found))
        if run is not None:
            e["runs"].setdefault(f"{run:05d}", []).extend(found)
        for key, value in extra.items():
            if run is not None:
                e.setdefault(key, {})[f"{run:05d}"] = value
            else:
                e[key] = value
        return e

    def call(self, kind, how, source, finder, run=None) -> dict:
        """Call a LSTOSA/lstchain finder; one that raises (no file, as they do) finds nothing: say why."""
        try:
            found = finder()
        except (Exception, SystemExit) as exc:  # LSTOSA calls sys.exit() where a file is missing
            return self.add(kind, how, source, [], run, error=f"{type(exc).__name__}: {exc}")
        return self.add(kind, how, source, found if isinstance(found, list) else [found], run)


def per_run(paths, run):
    return [p for p in paths if f"Run{run:05d}" in Path(p).name]


def check(args, tmp: Path) -> dict:
    base = args.base.resolve()
    date = dt.datetime.strptime(args.date, "%Y-%m-%d")
    night = date.strftime("%Y%m%d")
    prod = args.prod_id
    drs4_run, pedcal_run = args.calibration_runs
    summary = base / "OSA" / "Catalog" / "merged_RunSummary.ecsv"
    if not summary.exists():
        summary = write_merged_summary(tmp / "merged_RunSummary.ecsv", [drs4_run, pedcal_run, *args.runs], args.date)
    cfg_path = write_cfg(args.reference, base, prod, summary, tmp / "sequencer.cfg")
    cfg, options = import_lstosa(args.reference, cfg_path)

    import lstchain
    import lstchain.onsite as onsite
    from osa import paths as osa_paths
    from osa.configs.datamodel import RunObj, SequenceData
    from osa.scripts import closer, copy_datacheck, sequencer
    from osa.utils import utils as osa_utils

    # The globals LSTOSA's command-line parsers set (osa/utils/cliopts.py set_common_globals).
    options.date = date
    options.tel_id = "LST1"
    options.prod_id = prod
    options.simulate = True  # destination_dir & co. create no directory
    options.test = True  # nothing is submitted
    options.no_dl2 = False
    options.directory = Path(cfg.get("LST1", "ANALYSIS_DIR")) / night / prod  # analysis_path, osa/paths.py:63

    f = Findings()
    out = {"lstosa": LSTOSA_VERSION, "lstchain": lstchain.__version__, "base": str(base), "date": night,
           "prod_id": prod, "runs": {}, "kinds": f.kinds,
           "merged_summary": str(summary) if summary.is_relative_to(base) else "(written for these runs)"}

    # ----------------------------------------------------------------- Cat-A calibration (night-wise)
    e = f.call("drs4_pedestal", "osa.paths.search_drs4_files(drs4_run, prod_id): <date>/{major(prod_id)}*/",
               "osa/paths.py:181-191", lambda: osa_paths.search_drs4_files(drs4_run, prod), drs4_run)
    if e["paths"]:  # the file the sequencer picks (the latest version): osa/paths.py:95-102
        e["selected"] = str(osa_paths.get_drs4_pedestal_filename(drs4_run, prod))
    e = f.call("charge_calibration", "osa.paths.search_calibration_files(pedcal_run, prod_id)",
               "osa/paths.py:203-211", lambda: osa_paths.search_calibration_files(pedcal_run, prod), pedcal_run)
    if e["paths"]:  # osa/paths.py:114-137
        e["selected"] = str(osa_paths.get_calibration_filename(pedcal_run, prod))
    # lstchain's onsite scripts (onsite_create_calibration_file, ..._drs4_time_file) go through 'pro'.
    f.call("drs4_pedestal_pro", "lstchain.onsite.find_pedestal_file('pro', drs4_run, base_dir=BASE)",
           "lstchain/onsite.py:105-119", lambda: onsite.find_pedestal_file("pro", drs4_run, base_dir=base), drs4_run)
    f.call("charge_calibration_pro", "lstchain.onsite.find_calibration_file('pro', pedcal_run, base_dir=BASE)",
           "lstchain/onsite.py:191-210", lambda: onsite.find_calibration_file("pro", pedcal_run, base_dir=base),
           pedcal_run)
    f.call("time_calibration", "lstchain.onsite.find_time_calibration_file('pro', pedcal_run, base_dir=BASE), "
           "as osa.paths.sequence_calibration_files", "osa/paths.py:250-252, lstchain/onsite.py:139-163",
           lambda: onsite.find_time_calibration_file("pro", pedcal_run, base_dir=base), pedcal_run)
    f.call("ffactor_systematics", "lstchain.onsite.find_systematics_correction_file('pro', date, base_dir=BASE) "
           "(an input of the calibration, not a product)", "osa/paths.py:253-255, lstchain/onsite.py:173-189",
           lambda: onsite.find_systematics_correction_file("pro", night, base_dir=base))
    cat_a = base / onsite.CAT_A_PIXEL_DIR
    links = {k: os.readlink(cat_a / k / night / "pro") if (cat_a / k / night / "pro").is_symlink() else None
             for k in CAT_A_KINDS}
    f.add("pro_links", "os.readlink(Cat-A/<kind>/<date>/pro); lstchain makes it relative: '<version>'",
          "lstchain/onsite.py:69-75 create_pro_symlink", [], targets=links)

    # ----------------------------------------------------------------- per DATA run
    dl1_given = args.dl1_prod_id or []
    for i, run in enumerate(args.runs):
        given = dl1_given[i] if len(dl1_given) > 1 else (dl1_given[0] if dl1_given else None)
        info = out["runs"][f"{run:05d}"] = {}
        tc = dl1_prod_id(run, given, cfg, osa_paths, f, info)
        nsb = nsb_prod_id(run, tc, args.nsb_prod_id, cfg, night, prod, osa_paths, info)
        try:  # what LSTOSA's RF model choice reads: auxiliary/TailCuts/log_find_tailcuts_RunNNNNN.log
            info["nsb_level"] = float(osa_utils.get_nsb_level(run))  # osa/utils/utils.py:329-350
        except (Exception, SystemExit) as exc:
            info["nsb_level"] = f"{type(exc).__name__}: {exc}"
        seq = SequenceData(RunObj(run_str=f"{run:05d}", run=run, type="DATA", night=night))
        seq.dl1_prod_id, seq.dl2_prod_id = tc, f"{tc}/{nsb}"  # as osa/paths.py:560-564 get_dl2_prod_id
        seq.drs4_run, seq.pedcal_run = drs4_run, pedcal_run
        data_run(run, seq, f, osa_paths, closer, sequencer, onsite)

    # ----------------------------------------------------------------- night-wise
    night_wise(night, prod, cfg, f, osa_paths, osa_utils, copy_datacheck, args.runs)
    return out


def dl1_prod_id(run, given, cfg, osa_paths, f, info) -> str:
    """LSTOSA's dl1_prod_id of a run (osa/paths.py:541-557): from auxiliary/TailCuts/dl1ab_RunNNNNN.json
    (apply_standard_dl1b_config = False, LSTOSA's default), else --dl1-prod-id, else the cfg's DL1_PROD_ID."""
    how = "osa.paths.get_dl1_prod_id_and_config(run) with apply_standard_dl1b_config=False"
    cfg.set("lstchain", "apply_standard_dl1b_config", "False")
    try:
        tc, config = osa_paths.get_dl1_prod_id_and_config(run)
        tailcuts = Path(cfg.get("LST1", "TAILCUTS_FINDER_DIR")) / f"dl1ab_Run{run:05d}.json"  # paths.py:543-544
        f.add("tailcuts_config", how, "osa/paths.py:541-553", [tailcuts], run)
        info.update(dl1_prod_id=tc, dl1_prod_id_from=how, dl1b_config=str(config))
    except (Exception, SystemExit) as exc:  # no (or no valid) json: LSTOSA would stop there
        f.add("tailcuts_config", how, "osa/paths.py:541-553", [], run, error=f"{type(exc).__name__}: {exc}")
        if given:
            tc = given
            info.update(dl1_prod_id=tc, dl1_prod_id_from="--dl1-prod-id")
        else:
            cfg.set("lstchain", "apply_standard_dl1b_config", "True")
            tc = osa_paths.get_dl1_prod_id_and_config(run)[0]
            info.update(dl1_prod_id=tc, dl1_prod_id_from="osa.paths.get_dl1_prod_id_and_config: cfg DL1_PROD_ID")
    if given and given != tc:
        info["dl1_prod_id_given"] = given
    return tc


def nsb_prod_id(run, tc, given, cfg, night, prod, osa_paths, info) -> str:
    """LSTOSA takes it from the RF model's path (osa/paths.py:532-538, get_RF_model needs the RunCatalog
    and models/AllSky): here from the directory holding the run's DL2, through the same function."""
    if given:
        info.update(nsb_prod_id=given, nsb_prod_id_from="--nsb-prod-id")
        return given
    tc_dir = Path(cfg.get("LST1", "DL2_DIR")) / night / prod / tc
    candidates = []
    for d in sorted(p for p in tc_dir.glob("*") if p.is_dir()):
        with contextlib.suppress(SystemExit):  # no nsb_tuning_X.XX in the name: LSTOSA exits
            candidates.append((osa_paths.get_dl2_nsb_prod_id(Path(d.name)), d))
    with_run = [nsb for nsb, d in candidates if list(d.glob(f"dl2_LST-1.Run{run:05d}*.h5"))]
    nsb = (with_run or [nsb for nsb, _ in candidates] or ["nsb_tuning_?"])[0]
    info.update(nsb_prod_id=nsb, nsb_prod_id_from=f"osa.paths.get_dl2_nsb_prod_id on the directories of {tc_dir}",
                nsb_candidates=[d.name for _, d in candidates])
    return nsb


def data_run(run, seq, f, osa_paths, closer, sequencer, onsite):
    tc = seq.dl1_prod_id

    # DL1b sub-runs: the closer merges destination_dir('DL1AB') with lstchain_merge_hdf5_files
    # --pattern get_pattern('DL1AB') --run-number (closer.py:524-552); the tool's glob+filter replayed.
    dl1ab_dir = osa_paths.destination_dir("DL1AB", create_dir=False, dl1_prod_id=tc)
    pattern, _ = closer.get_pattern("DL1AB")
    how = f"osa.paths.destination_dir('DL1AB') + closer.get_pattern('DL1AB') = {pattern!r}, filtered by 'RunNNNNN'"
    src = "osa/paths.py:312-318, osa/scripts/closer.py:512-552, lstchain/scripts/lstchain_merge_hdf5_files.py:95-99"
    subruns = sorted(p for p in glob(os.path.join(dl1ab_dir, pattern), recursive=True) if f"Run{run:05d}" in p)
    f.add("dl1b_subruns", how, src, subruns, run)
    re_dl1ab = re.compile(r"tailcut.*/dl1.*.(?:h5|hdf5|hdf)")  # closer.py:312 (a local of post_process_files)
    f.add("closer_dl1ab_re_matches", "closer's DL1AB_RE on the DL1b sub-runs", "osa/scripts/closer.py:312",
          [p for p in subruns if re_dl1ab.search(p)], run)

    # The merged DL1b file: merge_files' --output-file, dl1_to_dl2's --input-file.
    merged = Path(dl1ab_dir) / f"dl1_LST-1.Run{run:05d}.h5"  # closer.py:537 == closer.py:261
    f.add("merged_dl1", "closer.merge_files output / dl1_to_dl2 input: <DL1AB dir>/dl1_LST-1.RunNNNNN.h5",
          "osa/scripts/closer.py:537, 261", [merged] if merged.is_file() else [], run)

    # Datacheck: lstchain_check_dl1 --input-file '<DATACHECK dir>/datacheck_dl1_LST-1.RunNNNNN.*.h5'.
    dc_dir = osa_paths.destination_dir("DATACHECK", create_dir=False, dl1_prod_id=tc)
    how = "osa.paths.destination_dir('DATACHECK') + glob 'datacheck_dl1_LST-1.RunNNNNN.*.h5' (lstchain_check_dl1)"
    src = "osa/paths.py:304-311, osa/scripts/closer.py:434-448, lstchain/scripts/lstchain_check_dl1.py:110"
    f.add("datacheck_subruns", how, src, glob(f"{dc_dir}/datacheck_dl1_LST-1.Run{run:05d}.*.h5"), run)
    # Run-wise datacheck: lstchain_cherenkov_transparency --input-dir=destination_dir(DATACHECK, 'tailcut*').
    cherenkov_dir = osa_paths.destination_dir("DATACHECK", create_dir=False, dl1_prod_id="tailcut*")
    how = "destination_dir('DATACHECK', dl1_prod_id='tailcut*') + glob 'datacheck_dl1_LST-1.Run?????.h5'"
    src = "osa/scripts/closer.py:653, lstchain/scripts/lstchain_cherenkov_transparency.py:52"
    f.add("datacheck_runs", how, src, per_run(glob(f"{cherenkov_dir}/datacheck_dl1_LST-1.Run?????.h5"), run), run)

    # Muons: lstchain_merge_muon_files --input-dir destination_dir('MUON') --pattern get_pattern('MUON').
    muons_dir = osa_paths.destination_dir("MUON", create_dir=False)
    pattern, _ = closer.get_pattern("MUON")
    how = f"osa.paths.destination_dir('MUON') + closer.get_pattern('MUON') = {pattern!r}, filtered by 'RunNNNNN'"
    src = "osa/paths.py:298-299, osa/scripts/closer.py:572-590, lstchain/scripts/lstchain_merge_muon_files.py:52-56"
    muons = sorted(p for p in glob(os.path.join(muons_dir, pattern), recursive=True) if f"Run{run:05d}" in p)
    f.add("muons", how, src, muons, run)
    merged_muons = Path(muons_dir) / f"muons_LST-1.Run{run:05d}.fits"  # closer.py:581
    f.add("muons_merged", "closer.merge_muon_files output", "osa/scripts/closer.py:581",
          [merged_muons] if merged_muons.is_file() else [], run)

    interleaved_dir = Path(osa_paths.destination_dir("INTERLEAVED", create_dir=False))
    f.call("interleaved", "lstchain.onsite.find_interleaved_subruns(run, destination_dir('INTERLEAVED'))",
           "osa/paths.py:300-303, lstchain/onsite.py:239-249",
           lambda: onsite.find_interleaved_subruns(run, interleaved_dir), run)

    # DL2: dl1_to_dl2 --output-dir <DL2_DIR>/<date>/<prod>/<dl2_prod_id> (= destination_dir('DL2')).
    dl2_dir = osa_paths.destination_dir("DL2", create_dir=False, dl2_prod_id=seq.dl2_prod_id)
    dl2 = Path(dl2_dir) / f"dl2_LST-1.Run{run:05d}.h5"  # closer.py:257-258
    f.add("dl2_runs", "osa.paths.destination_dir('DL2', dl2_prod_id='<tailcut>/<nsb_tuning>') / dl2_LST-1.RunNNNNN.h5",
          "osa/paths.py:319-324, osa/scripts/closer.py:257-258", [dl2] if dl2.is_file() else [], run)
    re_dl2 = re.compile("tailcut.*/nsb_tuning_.*/dl2.*.(?:h5|hdf5|hdf)")  # closer.py:327
    f.add("closer_dl2_re_matches", "closer's DL2_RE on the DL2 file", "osa/scripts/closer.py:327",
          [p for p in ([dl2] if dl2.is_file() else []) if re_dl2.search(str(p))], run)

    # The sequencer's status table: files counted per data level (percentages: sequencer.py:284-297).
    # DL1, MUON and DL1AB are counted in running_analysis/<date>/<prod>[/<tailcut>] only.
    counts = {}
    for level in ("DL1", "MUON", "DL1AB", "DATACHECK", "DL2"):
        try:
            counts[level] = sequencer.get_status_for_sequence(seq, level)
        except Exception as exc:  # noqa: BLE001 - reported, as the table would show it
            counts[level] = f"{type(exc).__name__}: {exc}"
    f.add("status_table", "osa.scripts.sequencer.get_status_for_sequence(seq, level): files counted",
          "osa/scripts/sequencer.py:328-371", [], run, counts=counts)


def night_wise(night, prod, cfg, f, osa_paths, osa_utils, copy_datacheck, runs):
    dl1_night = Path(cfg.get("LST1", "DL1_DIR")) / night / prod
    links_dir = Path(cfg.get("LST1", "DATACHECK_DIR")) / night

    # copy_datacheck's loop (copy_datacheck.py:70-78), with its completeness check.
    names = {"PEDESTAL": "copy_datacheck_pedestal_pdf", "CALIB": "copy_datacheck_calib_pdf",
             "DATACHECK": "datacheck_pdfs", "LONGTERM": "longterm_latest"}
    for data_type, pattern in osa_utils.DATACHECK_FILE_PATTERNS.items():
        how = f"copy_datacheck: get_datacheck_files({pattern!r}, datacheck_directory({data_type!r}))"
        src = "osa/scripts/copy_datacheck.py:70-78, osa/paths.py:258-275, osa/utils/utils.py:51-56"
        directory = osa_paths.datacheck_directory(data_type=data_type, date=night)
        files = osa_paths.get_datacheck_files(pattern, directory, date=night)
        e = f.add(names[data_type], how, src, files,
                  complete=copy_datacheck.are_files_copied(data_type, files))  # copy_datacheck.py:24-48
        if data_type == "DATACHECK":
            for run in runs:
                e["runs"][f"{run:05d}"] = per_run(e["paths"], run)

    how = "copy_datacheck.get_number_of_runs(): glob DL1/<date>/<prod>/'tailcut*/dl1_LST-1.Run?????.h5'"
    src = "osa/scripts/copy_datacheck.py:89-97"
    e = f.add("copy_datacheck_runs", how, src, dl1_night.glob("tailcut*/dl1_LST-1.Run?????.h5"))  # replay of :96
    for run in runs:
        e["runs"][f"{run:05d}"] = per_run(e["paths"], run)
    f.add("copy_datacheck_run_count", how, src, [], value=copy_datacheck.get_number_of_runs())

    # Links of every datacheck file in DATACHECK_DIR/<date>/: the sbatch --wrap of
    # create_runwise_datacheck_symlinks (paths.py:433-437): find <DL1>/<date>/<prod> \( -name '*.pdf'
    # -o -name '*.h5' \) -path '*/datacheck/*' | ln -sfn "$f" <DATACHECK_DIR>/<date>/$(basename "$f").
    sources = []
    for top, _dirs, files in os.walk(dl1_night):  # like find: symlinked directories are not entered
        sources += [Path(top, n) for n in files
                    if n.endswith((".pdf", ".h5")) and "/datacheck/" in f"{top}/{n}"[len(str(dl1_night)):]]
    linked, missing = [], []
    for src_file in sorted(sources):
        link = links_dir / src_file.name
        (linked if link.exists() and os.path.samefile(link, src_file) else missing).append(link)
    e = f.add("datacheck_links", "replay of create_runwise_datacheck_symlinks' find | ln -sfn",
              "osa/paths.py:422-437", linked, missing=sorted(map(str, missing)),
              sources=sorted(map(str, sources)))
    for run in runs:
        e["runs"][f"{run:05d}"] = per_run(e["paths"], run)
    # lstchain_longterm_dl1_check --input-dir=<DATACHECK_DIR>/<date> (closer.py:608, 624).
    how = "glob <DATACHECK_DIR>/<date>/datacheck_dl1_LST-1.Run?????.h5 (lstchain_longterm_dl1_check)"
    src = "osa/scripts/closer.py:605-630, lstchain/scripts/lstchain_longterm_dl1_check.py:90"
    e = f.add("longterm_inputs", how, src, glob(str(links_dir / "datacheck_dl1_LST-1.Run?????.h5")))
    for run in runs:
        e["runs"][f"{run:05d}"] = per_run(e["paths"], run)

    # Muon links: create_muons_symlinks (paths.py:468-479), not called: it writes.
    muons_dir = osa_paths.destination_dir("MUON", create_dir=False)
    muon_links = [links_dir / "muons" / m.name for m in muons_dir.rglob("muons_LST-1*.fits")]  # paths.py:476
    e = f.add("muon_links", "replay of create_muons_symlinks: DATACHECK_DIR/<date>/muons/<name> is a link",
              "osa/paths.py:468-479", [p for p in muon_links if p.is_symlink()],
              missing=sorted(str(p) for p in muon_links if not p.is_symlink()))
    for run in runs:
        e["runs"][f"{run:05d}"] = per_run(e["paths"], run)

    # Night-wise LONGTERM files: create_longterm_symlink (paths.py:389-415), not called: it writes.
    longterm_dir = Path(cfg.get("LST1", "LONGTERM_DIR"))
    found, latest = [], {}
    for ext in ("h5", "log", "html"):  # paths.py:398
        versions = list(longterm_dir.rglob(f"v*/{night}/DL1_datacheck_{night}.{ext}"))  # paths.py:402-404
        found += versions
        with contextlib.suppress(ValueError):  # none: LSTOSA warns and skips (paths.py:406-410)
            latest[ext] = str(osa_paths.get_latest_version_file(versions))
    f.add("longterm", "create_longterm_symlink's rglob 'v*/<date>/DL1_datacheck_<date>.{h5,log,html}' in LONGTERM_DIR",
          "osa/paths.py:398-404", found, latest_version=latest,
          closer_output=str(longterm_dir / prod / night / f"DL1_datacheck_{night}.h5"),  # closer.py:610-611
          exists=osa_paths.dl1_datacheck_longterm_file_exits())  # paths.py:493-501
    e = f.kinds["longterm_latest"]
    e["points_to_latest_version"] = {
        ext: (Path(p).exists() and os.path.samefile(p, latest[ext])) if ext in latest else False
        for ext in ("h5", "log", "html")
        for p in [longterm_dir / f"DL1_datacheck_{night}.{ext}"]}  # the link's name, paths.py:401

    flag = osa_utils.night_finished_flag()
    f.add("night_finished", "osa.utils.utils.night_finished_flag() / is_day_closed()",
          "osa/utils/utils.py:127-166", [flag] if osa_utils.is_day_closed() else [])


def main(argv=None):
    args = parse_args(argv)
    if not (args.reference / "osa" / "paths.py").exists():
        sys.exit(f"lstosa is not installed in {args.reference}: run scripts/install_lstosa_reference.sh")
    real_stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr), tempfile.TemporaryDirectory(prefix="lstosa_reference_") as tmp:
        out = check(args, Path(tmp))  # stdout carries the JSON only
    print(json.dumps(out, indent=1, sort_keys=True), file=real_stdout)


if __name__ == "__main__":
    main()
