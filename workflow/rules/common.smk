# Configuration check, the night's plan and helpers shared by all rules.
# Everything here runs at parse time (also inside every cluster job): keep it cheap.
import json
import os
import sys
from shlex import quote as shlex_quote
from pathlib import Path

from snakemake.utils import min_version

from lstosa_snake.night.config import check_static_inputs, validate_config
from lstosa_snake.core.errors import LstosaError
from lstosa_snake.night.plan import night_paths, plan_night, resolve
from lstosa_snake.night.nightsummary import find_night_summary
from lstosa_snake.night.paths import WILDCARDS
from lstosa_snake.jobs.resources import mem_mb

min_version("9.0")

BASE = Path(workflow.basedir)


def fail(message):
    """One line for the operator, no traceback."""
    print(f"lstosa-snake: ERROR: {message}", file=sys.stderr)
    sys.exit(1)


if config.get("date") in (None, ""):
    fail("no night given: add --config date=YYYY-MM-DD (or YYYYMMDD)")
# The main Snakemake checks the configuration once; the jobs it starts (one Snakemake each on SLURM)
# get the same configuration and skip it: it costs every SLURM job ~0.1 s of CPU.
if workflow.is_main_process:
    try:
        validate_config(config, BASE / "workflow" / "schemas" / "config.schema.yaml")
        check_static_inputs(config, BASE)
    except LstosaError as exc:
        fail(exc)

# The main Snakemake reads the night's input state from the raw files (night/input_state.py: ~0.6 s with the
# protozfits import); the jobs it starts inherit its environment (locally, and on SLURM: sbatch --export=ALL)
# and take the state from there instead.
INPUT_STATE_ENV = "LSTOSA_SNAKE_INPUT_STATE"


def known_input_state(paths):
    """The state the main Snakemake read for this night and output tree, in a job; None otherwise."""
    if workflow.is_main_process:
        return None
    key, _, state = os.environ.get(INPUT_STATE_ENV, "").rpartition("|")
    return state if key == f"{paths.output_root}|{paths.date}" else None


try:
    PATHS = night_paths(config, BASE)
    _summary = resolve(config["night_summary"], BASE) if config.get("night_summary") else (
        find_night_summary(PATHS.data_root, PATHS.output_root, PATHS.night,
                           resolve(config["merged_summary"], BASE) if config.get("merged_summary") else None)
    )
    # the jobs that Snakemake starts read the input state from one run: the main Snakemake checked them all
    PLAN = plan_night(config, BASE, _summary, check_runs=workflow.is_main_process,
                      known_state=known_input_state(PATHS)) if _summary else None
    if PLAN is None and not any(PATHS.r0_dir.glob("LST-1.1.Run*.fits.fz")):
        fail(f"no night summary for {PATHS.night} and no raw files in {PATHS.r0_dir} to make one from")
    if PLAN is not None and PLAN.runs and not PATHS.pointing_file.is_file():
        fail(f"drive log {PATHS.pointing_file} does not exist (needed by r0_to_dl1 for the DATA runs)")
except LstosaError as exc:
    fail(exc)

def hand_input_state_to_jobs(plan):
    if workflow.is_main_process and plan is not None:
        state = plan.input_state
        os.environ[INPUT_STATE_ENV] = f"{PATHS.output_root}|{PATHS.date}|{state.state},{'evbv5' if state.evbv5 else ''}"


hand_input_state_to_jobs(PLAN)

# Both are shell words in the rules' commands ({params.tools}/TOOL): quoted for spaces and metacharacters.
LST = shlex_quote(str(resolve(config["tools_bin"], BASE)))  # the lstchain tools' environment
PY = shlex_quote(sys.executable)  # Snakemake's environment, for our own small helpers
STAGING = str(PATHS.staging_dir)
LSTCHAIN_CONFIG = str(resolve(config["lstchain_config"], BASE))
CALIBRATION_CONFIG = str(resolve(config["calibration_config"], BASE))
TIME_CALIBRATION_CONFIG = str(resolve(config["time_calibration_config"], BASE))
MODELS_DIR = str(resolve(config["models_dir"], BASE))
DATE = PATHS.date
RUNNER = f"{PY} -m lstosa_snake.jobs.runner --staging-root {shlex_quote(STAGING)}"
# Calibration products are shared by all productions of a calibration version: their work area
# must not depend on prod_id (params are a rerun trigger).
CALIBRATION_RUNNER = (
    f"{PY} -m lstosa_snake.jobs.runner --staging-root {shlex_quote(str(PATHS.calibration_running_dir / 'staging'))}"
)

wildcard_constraints:
    run=WILDCARDS["run"],
    subrun=WILDCARDS["subrun"],


def plan():
    """The night's plan; when the summary had to be created, after that job has run."""
    global PLAN
    if PLAN is None:
        checkpoints.run_summary.get()
        try:
            PLAN = plan_night(config, BASE, PATHS.created_run_summary, check_runs=workflow.is_main_process,
                              known_state=known_input_state(PATHS))
            hand_input_state_to_jobs(PLAN)
        except LstosaError as exc:
            fail(exc)
    return PLAN


# The keys that decide a night's plan (plan_night): handed to the Python steps that rebuild the
# plan. Only these, so that unrelated settings (e.g. the publishing URL) do not re-close a night.
PLAN_KEYS = (
    "date", "data_root", "output_root", "night_summary", "merged_summary", "prod_id", "calibration_version",
    "calibration_policy", "calibration_lookback_nights", "exclude_runs", "exclude_subruns",
    "failed_subruns", "time_calibration", "ffactor_systematics", "calibration_lookup_version", "input_state",
    "calibration_filters",
)


def plan_config_json(wildcards=None):
    return shlex_quote(json.dumps({k: config.get(k) for k in PLAN_KEYS}, sort_keys=True))


def run_summary_file(wildcards=None):
    """The RunSummary ECSV handed to the tools: the night's own, or one made from the seed text."""
    p = plan()
    if p.summary.fmt == "ecsv":
        return p.summary.path
    return str(PATHS.derived_run_summary)


# Per-job input functions and callables cost Snakemake ~0.1 ms each per job (signature inspection,
# wildcard application): what is known at parse time is handed over as a plain value.
# ancient: the follow mode (lstosa-follow) rewrites the night's summary as runs grow; a tool reads only
# its run's row, which does not change, so a newer summary must not redo finished jobs.
RUN_SUMMARY = ancient(run_summary_file()) if PLAN is not None else (lambda wc: ancient(run_summary_file()))
# What r0_to_dl1 reads: R0, or on a legacy_raw night the gain-selected copies in R0G (gain_selection.smk).
if PLAN is not None:
    R0_STREAMS = {
        f"r0_{s}": PATHS.pattern("r0g" if PLAN.input_state.needs_gain_selection else "r0", stream=s) for s in (1, 2, 3, 4)
    }
else:
    R0_STREAMS = {f"r0_{s}": (lambda wc, s=s: str(plan().r0_for_dl1(wc.run, wc.subrun, s))) for s in (1, 2, 3, 4)}
MAX_EVENTS = f"--max-events {int(config['max_events'])}" if config.get("max_events") else ""


def retries(n):
    """A rule's retries, made by the main Snakemake only: it resubmits a failed job with the next
    attempt's resources (more memory and time). Inside a SLURM job (a sub-run's chain) a retry would
    repeat the job in the same allocation, multiplying the attempts of a bad sub-run."""
    return n if workflow.is_main_process else 0


def log_path(name):
    return str(PATHS.log(name))


def benchmark_path(name):
    return str(PATHS.benchmark(name))


def calibration_log(name):
    return str(PATHS.calibration_running_dir / "log" / name)


def calibration_benchmark(name):
    return str(PATHS.calibration_running_dir / "benchmarks" / name)


def r0_streams(run, subrun):
    return [str(p) for p in PATHS.r0_streams(run, subrun)]


def calibration_inputs(wildcards):
    return {k: str(v) for k, v in plan().calibration_files(wildcards.run).items()}


def night_targets(wildcards):
    """Everything a closed night has: calibration, per-run products, night datacheck, report, web page."""
    p = plan()
    targets = [str(PATHS.night_finished), str(PUBLISH_STATUS)]  # publish_datacheck: after night_page
    for cali, drs4 in p.calibrations_tonight.items():
        targets += [str(PATHS.drs4_pedestal(drs4)), str(PATHS.charge_calibration(cali)),
                    str(PATHS.drs4_pedestal_pdf(drs4)), str(PATHS.charge_calibration_pdf(cali))]
        if p.calibration_lookup is None or not p.calibration_lookup.time_calibration:  # else looked up
            targets.append(str(PATHS.time_calibration(cali)))
    return targets


def cali_r0(wildcards):
    """The CALI run's first sub-run: tonight's raw files, or an earlier night's (LSTOSA's borrowed PEDCALIB)."""
    r0_dir = plan().cali_r0_dir(wildcards.run)
    return [str(r0_dir / f"LST-1.{s}.Run{int(wildcards.run):05d}.0000.fits.fz") for s in (1, 2, 3, 4)]


def cali_run_summary(wildcards):
    """The RunSummary listing the CALI run (the event-time reference of its night)."""
    entry = plan().earlier_cali_inputs.get(int(wildcards.run))
    return ancient(str(entry[1]) if entry else run_summary_file())  # ancient: see RUN_SUMMARY


def paired_drs4(wildcards):
    drs4 = plan().calibrations_tonight[int(wildcards.run)]
    return str(PATHS.drs4_pedestal(drs4))


def subrun_files(method):
    def files(wildcards):
        rp = plan().run_plan(wildcards.run)
        return [str(getattr(PATHS, method)(rp.run_id, s)) for s in rp.subruns]

    return files


def staged(files):
    return " ".join(f"--stage-input {shlex_quote(f)}" for f in files)


def run_level(method):
    return lambda wildcards: [str(getattr(PATHS, method)(r)) for r in plan().runs]


def run_datacheck_names(wildcards):
    """What lstchain_check_dl1 writes for a run: with several sub-runs it merges their datacheck
    files (next to the inputs) into datacheck_dl1_LST-1.RunNNNNN.h5 plus a PDF in --output-dir;
    with a single sub-run it keeps the sub-run's name and does not merge."""
    rp = plan().run_plan(wildcards.run)
    stem = f"datacheck_dl1_LST-1.Run{rp.run}"
    if len(rp.subruns) == 1:
        stem += f".{rp.subruns[0]:04d}"
    return {"h5": f"_inputs/{stem}.h5", "pdf": f"{stem}.pdf"}


# LSTOSA's cleaning/NSB directories of a product: LAYOUT_FROM_TAILCUTS, STATIC_LAYOUT, TC, NSB are set in dl1ab.smk
def place_args(wc, pairs):
    """Runner options that write each (handle, LSTOSA path) at its LSTOSA path and link the handle to it."""
    templates = [str(lstosa).replace(TC, "{dl1_prod_id}").replace(NSB, "{nsb_tuning}") for _, lstosa in pairs]
    words = [f"--place {shlex_quote(f'{handle}={t}')}" for (handle, _), t in zip(pairs, templates)]
    words += [f"--layout {k}={v}" for k, v in STATIC_LAYOUT.items()]
    # only the levels this product has: a sub-run's datacheck must not wait for (or read) its run's NSB
    from_tailcuts = [k for k in LAYOUT_FROM_TAILCUTS if any(f"{{{k}}}" in t for t in templates)]
    if from_tailcuts:
        words.append(f"--layout-tailcuts {shlex_quote(str(PATHS.tailcuts_summary(wc.run)))}")
        words += [f"--from-tailcuts {k}" for k in from_tailcuts]
    return " ".join(words)
