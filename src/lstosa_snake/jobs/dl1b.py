"""DL1b, as LSTOSA v0.11: the tail-cut finder, the Cat-B calibration and the re-cleaning (dl1ab) of a
run, and the choice of RF models by NSB level. docs/dl1b.md describes the stages and switches.

The rules of ``workflow/rules/dl1ab.smk`` call the subcommands below; each runs its lstchain tool
through :mod:`lstosa_snake.jobs.runner` (staging, atomic rename, failure marker) and decides what the
tool cannot: whether the run has the events the tool needs, where the product goes (the cleaning
levels name its directory, LSTOSA's ``dl1_prod_id``) and which models fit the run's NSB.

    python -m lstosa_snake.jobs.dl1b tailcuts --run 1874 --dl1 DL1... --config-out C --summary-out S ...
    python -m lstosa_snake.jobs.dl1b catb --run 1874 --interleaved I... --catA CAL --output H5 --status-out S ...
    python -m lstosa_snake.jobs.dl1b dl1ab --input DL1A --tailcuts S [--catb S] --link OUT --dl1-dir DIR ...
    python -m lstosa_snake.jobs.dl1b models --tailcuts S --models-dir DIR [--dec D]

The summary of a run's tail cuts (``tailcuts_RunNNNNN.json``) is ours: picture and boundary
thresholds, the finder's pedestal charge quantile and extra NSB (p.e./ns), the NSB level of the
tuned MC it corresponds to, the directory name, and whether the finder decided or the standard
cleaning was used (and why).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from lstosa_snake.jobs import layout
from lstosa_snake.night.rf_models import (
    choose_models_dir,
    run_pointing_dec,
    subdirs_by_name,
)

#: lstchain 0.12's standard cleaning (tailcuts_clean_with_pedestal_threshold): LSTOSA's DL1_PROD_ID
STANDARD_PICTURE, STANDARD_BOUNDARY = 8, 4
#: lstchain_find_tailcuts skips a sub-run with fewer interleaved pedestals (image/cleaning.py)
FINDER_MIN_PEDESTALS = 100
#: NSB levels (p.e./ns over dark MC) of LST-1's tuned MC and the picture threshold each is
#: cleaned with (LSTOSA's get_nsb_level, osa/utils/utils.py)
NSB_LEVELS = (0.00, 0.07, 0.14, 0.22, 0.38, 0.50, 0.81, 1.25, 1.76, 2.34)
NSB_PICTURE = (8, 8, 8, 8, 10, 10, 12, 14, 16, 18)
_NSB_DIR = re.compile(r"nsb_tuning_(\d+\.\d+)$")
_FINDER_LOG = {
    "qped": re.compile(r"Median of 95% quantile of pedestal charge:\s*(-?[\d.]+)"),
    "nsb": re.compile(r"Additional NSB rate \(over dark MC\):\s*(-?[\d.]+)"),
}
DL1_PARAMS = "/dl1/event/telescope/parameters/LST_LSTCam"
INTERLEAVED_TRIGGER = "/dl1/event/subarray/trigger"
FLATFIELD, SKY_PEDESTAL = 0, 2


def dl1_prod_id(picture: int, boundary: int) -> str:
    """LSTOSA's name of a cleaning (paths.get_dl1_prod_id): tailcut84, tailcut1005 ..."""
    return f"tailcut{picture}{boundary}" if boundary == 4 else f"tailcut{picture}{boundary:02d}"


def nsb_level(picture: int, nsb: float) -> float:
    """The tuned-MC NSB level closest to the finder's extra NSB among those cleaned with the same
    picture threshold (LSTOSA's get_nsb_level; LSTOSA stops on a negative NSB, which the finder's
    parabola gives for skies darker than its reference: here the closest level, 0.00)."""
    candidates = [lvl for lvl, p in zip(NSB_LEVELS, NSB_PICTURE) if p == picture] or list(NSB_LEVELS)
    return min(candidates, key=lambda lvl: (abs(lvl - nsb), lvl))


def nsb_dirs(models_root: Path) -> dict[float, Path]:
    """NSB level -> directory, for the ``*nsb_tuning_X.XX`` directories of a models tree."""
    return subdirs_by_name(models_root, _NSB_DIR, lambda m: float(m.group(1)))


def choose_models(models_root: Path, level: float | None, dec: float | None = None, run: int | None = None) -> Path:
    """Models for a run: the ``nsb_tuning`` directory closest to ``level`` (when the tree has them),
    then its declination line closest to the pointing (rf_models, when it has ``dec_*`` lines)."""
    models = Path(models_root)
    by_nsb = nsb_dirs(models)
    if by_nsb:
        if level is None or not math.isfinite(level):
            raise ValueError(f"no NSB level for run {run}: needed to choose among {sorted(by_nsb)} in {models}")
        models = by_nsb[min(by_nsb, key=lambda x: (abs(x - level), x))]
    return choose_models_dir(models, dec, run=run)


def run_dec(plan, run) -> float | None:
    """Pointing declination of a run (RunCatalog, else drive log), for the declination lines."""
    return run_pointing_dec(int(run), plan.catalog, plan.summary.runs, plan.paths.pointing_file)[0]


def models_shell_arg(python: str, tailcuts: Path, models_dir: str, dec: float | None) -> str:
    """Shell words that set ``$models`` to the ``models`` subcommand's answer when the job runs (the
    run's NSB is known only once its tail cuts are); an assignment of its own, so that a failed
    choice stops the job (bash -e) with the subcommand's message instead of an empty path."""
    dec_arg = f" --dec {dec}" if dec is not None else ""
    return (f'models="$({python} -m lstosa_snake.jobs.dl1b models --tailcuts {shlex.quote(str(tailcuts))}'
            f' --models-dir {shlex.quote(str(models_dir))}{dec_arg})"; ')


def read_summary(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def _write_json(path: Path, data: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def count_types(path: Path, table: str) -> dict[int, int]:
    """{event_type: events} of one DL1 (parameters) or interleaved (trigger) table."""
    import numpy as np
    import tables

    with tables.open_file(str(path)) as f:
        types = f.get_node(table).col("event_type")
    values, counts = np.unique(types, return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts)}


def _log(log: Path, message: str) -> None:
    with open(log, "a") as f:
        f.write(f"lstosa_snake.jobs.dl1b: {message}\n")


def _runner(args, label: str, outs: dict, stage=(), tool=()) -> int:
    """Our runner around one tool: ``outs`` is {name in staging: final path}."""
    cmd = [*shlex.split(args.runner), "--label", label, "--log", str(args.log)]
    for f in stage:
        cmd += ["--stage-input", str(f)]
    for name, final in outs.items():
        cmd += ["--out", f"{name}={final}"]
    return subprocess.call([*cmd, "--", *map(str, tool)])


# ------------------------------------------------------------------------------- tail cuts
def standard_config(config_file: Path) -> dict:
    """The dl1ab configuration of the standard cleaning: the given lstchain configuration's
    cleaning sections (LSTOSA's dl1b_config, lstchain_standard_config.json)."""
    cfg = json.loads(Path(config_file).read_text())
    keys = ("tailcuts_clean_with_pedestal_threshold", "dynamic_cleaning", "tailcut")
    return {k: cfg[k] for k in keys if k in cfg}


def standard_dl1_prod_id(config_file: Path) -> str:
    """The cleaning directory of the standard cleaning (LSTOSA's DL1_PROD_ID, tailcut84). lstchain fills
    what a configuration leaves out from its standard one (8 and 4 p.e.)."""
    cleaning = standard_config(config_file).get("tailcuts_clean_with_pedestal_threshold") or {}
    try:
        return dl1_prod_id(int(cleaning.get("picture_thresh", 8)), int(cleaning.get("boundary_thresh", 4)))
    except (TypeError, ValueError):
        raise ValueError(f"{config_file}: tailcuts_clean_with_pedestal_threshold thresholds are not numbers") from None


def cmd_tailcuts(args) -> int:
    run = int(args.run)
    summary = {"run": run, "finder": False, "reason": "", "qped_pe": None, "nsb_pe_per_ns": None}
    # with the standard cleaning the finder runs only for the NSB level of the models (models by NSB)
    run_finder = not args.standard or args.nsb_needed
    if run_finder:
        peds = [count_types(f, DL1_PARAMS).get(SKY_PEDESTAL, 0) for f in args.dl1]
        usable = sum(n >= FINDER_MIN_PEDESTALS for n in peds)
        # lstchain_find_tailcuts needs half of its sub-runs with >= 100 pedestals, and two of them (it
        # rejects sub-runs by their deviation from the median: with one, 0/0), else it fails; a run
        # that cannot have them (a short run) is cleaned with the standard levels instead
        if usable < 2 or 2 * usable < len(peds):
            run_finder = False
            summary["reason"] = (f"too few interleaved pedestals for the finder: {usable} of {len(peds)} sub-runs"
                                 f" with >= {FINDER_MIN_PEDESTALS} (it needs 2 and half of them)")
    if args.standard:
        summary["reason"] = "; ".join(filter(None, ["apply_standard_dl1b_config", summary["reason"]]))
    if run_finder:
        # the finder also runs with the standard cleaning when the models are chosen by NSB
        name = f"dl1ab_Run{run:05d}.json"
        finder_log = Path(args.summary_out).with_name(f"log_find_tailcuts_Run{run:05d}.log")
        finder_json = Path(args.summary_out).with_name(f".finder_{name}")
        rc = _runner(args, f"find_tailcuts run {run:05d}",
                     {name: finder_json, f"log_find_tailcuts_Run{run:05d}.log": finder_log}, stage=args.dl1,
                     tool=[f"{args.tools}/lstchain_find_tailcuts", "-d", "{inputs}", "-r", run, "-o", "{staging}"])
        if rc != 0:
            return rc
        text = finder_log.read_text()
        for key, rx in _FINDER_LOG.items():
            m = rx.search(text)
            summary[{"qped": "qped_pe", "nsb": "nsb_pe_per_ns"}[key]] = float(m.group(1)) if m else None
        if not args.standard:
            config = json.loads(finder_json.read_text())
            summary["finder"] = True
        finder_json.unlink()
    if not summary["finder"]:
        config = standard_config(args.standard_config)
    cleaning = config["tailcuts_clean_with_pedestal_threshold"]
    picture, boundary = int(cleaning["picture_thresh"]), int(cleaning["boundary_thresh"])
    nsb = summary["nsb_pe_per_ns"]
    summary.update(picture_thresh=picture, boundary_thresh=boundary, dl1_prod_id=dl1_prod_id(picture, boundary),
                   nsb_level=nsb_level(picture, nsb) if nsb is not None else None)
    _write_json(args.config_out, config)
    _write_json(args.summary_out, summary)
    if args.lstosa_link_dir:  # LSTOSA's auxiliary/TailCuts/ (its sequencer, get_nsb_level, update_source_catalog)
        for f in (Path(args.config_out), Path(args.summary_out).with_name(f"log_find_tailcuts_Run{run:05d}.log")):
            if f.is_file():
                layout.link(Path(args.lstosa_link_dir) / f.name, f)
    _log(args.log, f"run {run:05d}: {summary['dl1_prod_id']}"
         + (f", extra NSB {nsb:.3f} p.e./ns -> level {summary['nsb_level']:.2f}" if nsb is not None else "")
         + (f" (standard cleaning: {summary['reason']})" if summary["reason"] else " (tail-cut finder)"))
    return 0


# ---------------------------------------------------------------------------------- Cat-B
def cmd_catb(args) -> int:
    run = int(args.run)
    counts = [count_types(f, INTERLEAVED_TRIGGER) for f in args.interleaved]
    n_ff = sum(c.get(FLATFIELD, 0) for c in counts)
    n_ped = sum(c.get(SKY_PEDESTAL, 0) for c in counts)
    status = {"run": run, "file": None, "n_flatfield": n_ff, "n_pedestal": n_ped, "statistics": None, "reason": ""}
    stat = min(args.statistics, n_ff, n_ped)
    if stat < args.min_events:
        # a run too short for a Cat-B sample keeps its Cat-A calibration, as LSTOSA's dl1ab
        # without a Cat-B file; said in the status, the night report and on the page
        status["reason"] = (f"too few interleaved events for Cat-B: {n_ff} flat-field, {n_ped} pedestal"
                            f" (< {args.min_events})")
        _log(args.log, f"run {run:05d}: {status['reason']}; dl1ab keeps the Cat-A calibration")
        _write_json(args.status_out, status)
        return 0
    # one sample of `stat` events each: the whole run's interleaved events (LSTOSA: 2,500 of each)
    name = Path(args.output).name
    tool = [f"{args.tools}/lstchain_create_cat_B_calibration_file", "--input_path={inputs}",
            f"--input_file_pattern=interleaved_LST-1.Run{run:05d}.*.h5", f"--output_file={{staging}}/{name}",
            f"--cat_A_calibration_file={args.catA}", f"--config={args.config}",
            f"--FlasherFlatFieldCalculator.sample_size={stat}", f"--PedestalIntegrator.sample_size={stat}"]
    if args.systematics:  # the F-factor systematics, as for the Cat-A calibration (ffactor_systematics)
        tool.append(f"--LSTCalibrationCalculator.systematic_correction_path={args.systematics}")
    rc = _runner(args, f"catB_calibration run {run:05d}", {name: args.output}, stage=args.interleaved, tool=tool)
    if rc != 0:
        return rc
    status.update(file=str(args.output), statistics=stat)
    _write_json(args.status_out, status)
    return 0


# ---------------------------------------------------------------------------------- dl1ab
def cmd_dl1ab(args) -> int:
    tc = read_summary(args.tailcuts)
    real = Path(args.dl1_dir) / tc["dl1_prod_id"] / Path(args.link).name
    tool = [f"{args.tools}/lstchain_dl1ab", "--input-file", args.input, "--output-file", f"{{staging}}/{real.name}",
            "--config", args.config]
    if args.catb:
        catb = read_summary(args.catb)
        if catb.get("file"):
            tool.append(f"--catB-calibration-file={catb['file']}")
    if args.no_image:
        tool.append("--no-image")
    rc = _runner(args, args.label, {real.name: real}, tool=tool)
    if rc != 0:
        return rc
    # The product lives in LSTOSA's cleaning directory; the workflow's declared output is a
    # relative link to it (the directory is only known once the run's tail cuts are)
    layout.link(Path(args.link), real)
    return 0


def cmd_models(args) -> int:
    tc = read_summary(args.tailcuts)
    try:
        print(choose_models(args.models_dir, tc.get("nsb_level"), args.dec, tc.get("run")))
    except ValueError as exc:
        print(f"lstosa_snake.jobs.dl1b: {exc}", file=sys.stderr)
        return 1
    return 0


def night_rows(paths, data_runs: list[dict]) -> list[dict]:
    """The night page's DL1b table: per DATA run (``data_runs``: the status rows, with ``run`` and
    ``planned_subruns``) its cleaning, where the levels came from, the finder's extra NSB and the
    tuned-MC level, the Cat-B calibration (or why none) and the share of sub-runs re-cleaned.
    Runs without any DL1b product yet are listed with what exists."""
    rows = []
    try:
        links = {p.name for p in (paths.dl1_dir / "dl1b").iterdir()}
    except FileNotFoundError:
        links = set()
    for entry in data_runs:
        run = int(entry["run"])
        row = {"run": run, "dl1_prod_id": None, "source": None, "nsb": None, "nsb_level": None, "catB": None,
               "dl1ab": None}
        try:
            tc = read_summary(paths.tailcuts_summary(run))
            row.update(dl1_prod_id=tc["dl1_prod_id"], nsb=tc.get("nsb_pe_per_ns"), nsb_level=tc.get("nsb_level"),
                       source="tail-cut finder" if tc.get("finder") else f"standard ({tc.get('reason') or 'configured'})")
        except (OSError, ValueError, KeyError):
            pass
        try:
            cb = read_summary(paths.catB_status(run))
            row["catB"] = (f"{Path(cb['file']).name} ({cb['statistics']} events of each kind)" if cb.get("file")
                           else f"none: {cb.get('reason')}")
        except (OSError, ValueError, KeyError):
            pass
        planned = int(entry.get("planned_subruns") or 0)
        if planned:
            done = sum(1 for n in links if n.startswith(f"dl1_LST-1.Run{run:05d}."))
            row["dl1ab"] = done / planned
        rows.append(row)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lstosa_snake.jobs.dl1b", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def tool_args(p):
        p.add_argument("--runner", required=True, help="the runner command (python -m lstosa_snake.jobs.runner ...)")
        p.add_argument("--tools", required=True, help="bin directory of the lstchain tools")
        p.add_argument("--log", required=True, type=Path)

    p = sub.add_parser("tailcuts", help="the run's cleaning levels (lstchain_find_tailcuts or standard)")
    tool_args(p)
    p.add_argument("--run", required=True, type=int)
    p.add_argument("--dl1", nargs="+", required=True, type=Path, help="the run's DL1a sub-run files")
    p.add_argument("--standard", action="store_true", help="apply_standard_dl1b_config")
    p.add_argument("--nsb-needed", action="store_true", help="run the finder for the NSB level even when standard")
    p.add_argument("--standard-config", required=True, type=Path, help="lstchain configuration with the standard cleaning")
    p.add_argument("--config-out", required=True, type=Path, help="dl1ab configuration (lstchain's dl1ab_RunNNNNN.json)")
    p.add_argument("--summary-out", required=True, type=Path)
    p.add_argument("--lstosa-link-dir", type=Path, help="link the finder's files into this directory (auxiliary/TailCuts)")
    p.set_defaults(fn=cmd_tailcuts)

    p = sub.add_parser("catb", help="the run's Cat-B calibration (lstchain_create_cat_B_calibration_file)")
    tool_args(p)
    p.add_argument("--run", required=True, type=int)
    p.add_argument("--interleaved", nargs="+", required=True, type=Path)
    p.add_argument("--catA", required=True, type=Path)
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--systematics", type=Path)
    p.add_argument("--statistics", type=int, default=2500)
    p.add_argument("--min-events", type=int, default=50)
    p.add_argument("--output", required=True, type=Path)
    p.add_argument("--status-out", required=True, type=Path)
    p.set_defaults(fn=cmd_catb)

    p = sub.add_parser("dl1ab", help="re-clean a sub-run (lstchain_dl1ab) into its cleaning directory")
    tool_args(p)
    p.add_argument("--label", required=True)
    p.add_argument("--input", required=True, type=Path)
    p.add_argument("--tailcuts", required=True, type=Path)
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--catb", type=Path)
    p.add_argument("--no-image", action="store_true")
    p.add_argument("--dl1-dir", required=True, type=Path)
    p.add_argument("--link", required=True, type=Path)
    p.set_defaults(fn=cmd_dl1ab)

    p = sub.add_parser("models", help="print the RF models directory of a run")
    p.add_argument("--tailcuts", required=True, type=Path)
    p.add_argument("--models-dir", required=True, type=Path)
    p.add_argument("--dec", type=float)
    p.set_defaults(fn=cmd_models)

    args = ap.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
