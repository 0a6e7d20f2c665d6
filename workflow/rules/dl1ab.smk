# DL1b, as LSTOSA v0.11 (docs/dl1b.md): per run the tail-cut finder (cleaning levels and extra NSB
# from the interleaved pedestals of the run's DL1a) and the Cat-B calibration (from its interleaved
# flat-field and pedestal events); per sub-run lstchain_dl1ab re-cleans the DL1a images into
# DL1/<date>/<prod_id>/tailcut<pic><bnd>/, and the sub-run's datacheck and DL2 read that file.
# Included before r0_to_dl1.smk and dl1_to_dl2.smk: their rules take DL1_FOR_DATACHECK / DL1_FOR_DL2.
from lstosa_snake.jobs.dl1b import models_shell_arg, nsb_dirs, run_dec, standard_dl1_prod_id
from lstosa_snake.night.rf_models import dec_lines

DL1B = bool(config.get("dl1ab", True))
CATB = DL1B and bool(config.get("apply_catB_calibration", False))
STANDARD_DL1B = bool(config.get("apply_standard_dl1b_config", False))
STORE_IMAGE_DL1AB = bool(config.get("store_image_dl1ab", True))
DL1B_CONFIG = str(resolve(config.get("dl1b_config") or config["lstchain_config"], BASE))
CATB_CONFIG = str(resolve(config.get("catB_config") or "config/lstchain/catB_calibration.json", BASE))
# models_dir with LSTOSA's nsb_tuning_X.XX productions: each run's DL2 uses the one closest to the
# NSB the tail-cut finder measured (then its declination line, when it has dec_* lines)
NSB_MODELS = bool(nsb_dirs(Path(MODELS_DIR)))
NSB_DEC_LINES = NSB_MODELS and any(dec_lines(d) for d in nsb_dirs(Path(MODELS_DIR)).values())
TAILCUTS = DL1B or NSB_MODELS

DL1_FOR_DL2 = PATHS.pattern("dl1b_subrun") if DL1B else PATHS.pattern("dl1_subrun")
# lstchain_check_dl1 reads the images: without them in the DL1b file (store_image_dl1ab: false) the
# datacheck reads the DL1a file (LSTOSA then skips the sub-run datacheck)
DL1_FOR_DATACHECK = DL1_FOR_DL2 if STORE_IMAGE_DL1AB else PATHS.pattern("dl1_subrun")
DATACHECK_FROM_DL1B = DL1B and STORE_IMAGE_DL1AB

# LSTOSA's tree (docs/layout.md): merged DL1, datacheck files and DL2 are written in the run's cleaning
# directory (and NSB directory for DL2), from its tail cuts when those choose them, and the workflow's fixed
# path becomes a link to it (runner --place, lstosa_snake.jobs.layout).
LAYOUT_FROM_TAILCUTS = [key for key, on in (("dl1_prod_id", DL1B), ("nsb_tuning", NSB_MODELS)) if on]
# models without NSB tuning are LSTOSA's dark-sky ones (nsb_tuning_0.00)
STATIC_LAYOUT = {
    "dl1_prod_id": standard_dl1_prod_id(DL1B_CONFIG if DL1B else resolve(config["lstchain_config"], BASE)),
    "nsb_tuning": "nsb_tuning_0.00",
}
TC, NSB = "TCDIR0", "NSBDIR0"  # stand-ins in the paths, made {dl1_prod_id}/{nsb_tuning} for the runner


# the run's tail-cut summary, an input of the rules whose LSTOSA directories it names (DL1 level: the
# cleaning only with DL1b, so that without it a sub-run's datacheck does not wait for its run's finder)
dl1_level_tailcuts = [PATHS.pattern("tailcuts_summary")] if DL1B else []
dl2_level_tailcuts = [PATHS.pattern("tailcuts_summary")] if LAYOUT_FROM_TAILCUTS else []


# On SLURM each sub-run's chain is one job (inactive locally). Snakemake makes one SLURM job per connected
# piece of a group, so a step joins the chain of the job that makes its DL1 input: without DL1b,
# r0_to_dl1 -> dl1_datacheck, dl1_to_dl2 is one job; with DL1b the chain is cut at the run's tail-cut finder
# (dl1ab waits for every sub-run's r0_to_dl1 of its run) and dl1ab -> its readers is a second job.
# tests/test_workflow_dryrun.py counts the SLURM jobs per sub-run of a dry run in each case.
SUBRUN_CHAIN = "subrun_chain"
DL1B_CHAIN = "dl1b_chain"
subrun_chain_of = lambda dl1_input: SUBRUN_CHAIN if dl1_input == PATHS.pattern("dl1_subrun") else DL1B_CHAIN


# dl1_to_dl2's --path-models "$models": chosen when the job runs, from the run's tail cuts (lstosa_snake.jobs.dl1b)
nsb_models_pick = lambda wc: models_shell_arg(
    PY, PATHS.tailcuts_summary(wc.run), MODELS_DIR, run_dec(plan(), wc.run) if NSB_DEC_LINES else None
)


if TAILCUTS:

    rule find_tailcuts:
        input:
            dl1=subrun_files("dl1_subrun"),
            config=DL1B_CONFIG,
        output:
            config=PATHS.pattern("dl1ab_config"),
            summary=PATHS.pattern("tailcuts_summary"),
        log:
            log_path("find_tailcuts/find_tailcuts.Run{run}.log"),
        benchmark:
            benchmark_path("find_tailcuts/find_tailcuts.Run{run}.tsv")
        params:
            runner=RUNNER,
            tools=LST,
            standard="--standard" if STANDARD_DL1B or not DL1B else "",
            nsb="--nsb-needed" if NSB_MODELS else "",
            # LSTOSA's readers take a run's cleaning (and the finder's log, its NSB) from auxiliary/TailCuts/
            aux_link=f"--lstosa-link-dir {shlex_quote(str(PATHS.lstosa_tailcuts_dir))}" if DL1B and not STANDARD_DL1B else "",
        resources:
            mem_mb=mem_mb("find_tailcuts"),
            runtime=lambda wc, attempt: 30 * attempt,
        retries: retries(1)
        conda:
            "../../envs/lstchain.yaml"
        shell:
            "{params.tools}/python -m lstosa_snake.jobs.dl1b tailcuts --runner {params.runner:q} --tools {params.tools}"
            " --log {log:q} --run {wildcards.run} --dl1 {input.dl1:q} {params.standard} {params.nsb}"
            " --standard-config {input.config:q} --config-out {output.config:q} --summary-out {output.summary:q}"
            " {params.aux_link}"


if CATB:

    rule catB_calibration:
        input:
            interleaved=subrun_files("interleaved_subrun"),
            catA=lambda wc: str(plan().calibration_files(wc.run)["charge_calibration"]),
            config=CATB_CONFIG,
            ffactor_systematics=(lambda wc: plan().calibration_lookup.systematics_inputs()) if SYSTEMATICS_CONFIGURED else [],
        output:
            status=PATHS.pattern("catB_status"),
        log:
            log_path("catB_calibration/catB_calibration.Run{run}.log"),
        benchmark:
            benchmark_path("catB_calibration/catB_calibration.Run{run}.tsv")
        params:
            runner=RUNNER,
            tools=LST,
            # the file itself is not a declared output: a run without enough interleaved events has
            # none (its status says why), and dl1ab then keeps the Cat-A calibration
            output=lambda wc: str(PATHS.catB_calibration(wc.run)),
            systematics=systematics_option("--systematics") if SYSTEMATICS_CONFIGURED else "",
            statistics=int(config.get("catB_statistics", 2500)),
            min_events=int(config.get("catB_min_events", 50)),
        resources:
            mem_mb=mem_mb("catB_calibration"),
            runtime=lambda wc, attempt: 30 * attempt,
        retries: retries(1)
        conda:
            "../../envs/lstchain.yaml"
        shell:
            "{params.tools}/python -m lstosa_snake.jobs.dl1b catb --runner {params.runner:q} --tools {params.tools}"
            " --log {log:q} --run {wildcards.run} --interleaved {input.interleaved:q} --catA {input.catA:q}"
            " --config {input.config:q} {params.systematics} --statistics {params.statistics}"
            " --min-events {params.min_events} --output {params.output:q} --status-out {output.status:q}"


if DL1B:

    rule dl1ab:
        input:
            dl1=PATHS.pattern("dl1_subrun"),
            config=PATHS.pattern("dl1ab_config"),
            tailcuts=PATHS.pattern("tailcuts_summary"),
            catB=PATHS.pattern("catB_status") if CATB else [],
        output:
            PATHS.pattern("dl1b_subrun"),
        log:
            log_path("dl1ab/dl1ab.Run{run}.{subrun}.log"),
        benchmark:
            benchmark_path("dl1ab/dl1ab.Run{run}.{subrun}.tsv")
        params:
            runner=RUNNER,
            tools=LST,
            dl1_dir=lambda wc, output: str(Path(output[0]).parent.parent),  # DL1/<date>/<prod_id>
            catB=lambda wc, input: f"--catb {shlex_quote(input.catB)}" if input.get("catB") else "",
            no_image="" if STORE_IMAGE_DL1AB else "--no-image",
        resources:
            mem_mb=mem_mb("dl1ab"),
            runtime=lambda wc, attempt: 30 * attempt,
        retries: retries(1)
        group: DL1B_CHAIN
        conda:
            "../../envs/lstchain.yaml"
        shell:
            "{params.tools}/python -m lstosa_snake.jobs.dl1b dl1ab --runner {params.runner:q} --tools {params.tools}"
            " --log {log:q} --label 'dl1ab run {wildcards.run} sub-run {wildcards.subrun}' --input {input.dl1:q}"
            " --tailcuts {input.tailcuts:q} --config {input.config:q} {params.catB} {params.no_image}"
            " --dl1-dir {params.dl1_dir:q} --link {output:q}"
