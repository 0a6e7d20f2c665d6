# Per sub-run: DL1 -> DL2 (energy, direction, gamma/hadron) with the pre-trained random forests.
# A models_dir with LSTOSA's declination lines (dec_2276, dec_min_413 ...) gives each run the line
# closest to its pointing (lstosa_snake.night.rf_models); a plain directory serves every run.
from lstosa_snake.night.rf_models import dec_lines

MODELS_BY_DECLINATION = bool(dec_lines(Path(MODELS_DIR)))

# An unknown pointing or no usable line stops the night at start, in one line, not in a job.
if workflow.is_main_process and PLAN is not None and MODELS_BY_DECLINATION:
    try:
        for _run in PLAN.runs:
            PLAN.models_dir(_run)
    except LstosaError as exc:
        fail(exc)


rule dl1_to_dl2:
    input:
        dl1=DL1_FOR_DL2,  # the DL1b file (dl1ab.smk)
        tailcuts=PATHS.pattern("tailcuts_summary") if NSB_MODELS else [],  # its NSB picks the models
        models=(lambda wc: str(plan().models_dir(wc.run))) if MODELS_BY_DECLINATION else MODELS_DIR,
        config=LSTCHAIN_CONFIG,
    output:
        PATHS.pattern("dl2_subrun"),
    log:
        log_path("dl1_to_dl2/dl1_to_dl2.Run{run}.{subrun}.log"),
    benchmark:
        benchmark_path("dl1_to_dl2/dl1_to_dl2.Run{run}.{subrun}.tsv")
    params:
        runner=RUNNER,
        tools=LST,
        pick=nsb_models_pick if NSB_MODELS else "",  # sets $models (dl1ab.smk)
        models='"$models"' if NSB_MODELS else (lambda wc, input: shlex_quote(input.models)),
    resources:
        mem_mb=mem_mb("dl1_to_dl2"),
        runtime=lambda wc, attempt: 20 * attempt,
    retries: retries(1)
    group: subrun_chain_of(DL1_FOR_DL2)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.pick}{params.runner} --label 'dl1_to_dl2 run {wildcards.run} sub-run {wildcards.subrun}' --log {log:q}"
        " --out dl2_LST-1.Run{wildcards.run}.{wildcards.subrun}.h5={output:q} --"
        " {params.tools}/lstchain_dl1_to_dl2 --input-file {input.dl1:q} --path-models {params.models}"
        " --output-dir {{staging}} --config {input.config:q}"
