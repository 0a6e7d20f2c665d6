# Cron step 1: when the night has no summary, make lstchain's RunSummary from the raw files.
# A checkpoint, so the (run, sub-run) jobs are planned once it exists.


checkpoint run_summary:
    output:
        str(PATHS.created_run_summary),
    log:
        log_path("run_summary.log"),
    params:
        runner=RUNNER,
        tools=LST,
        date=DATE,
        r0_root=str(PATHS.data_root / "R0"),
        name=PATHS.created_run_summary.name,
    resources:
        mem_mb=mem_mb("run_summary"),
        runtime=30,
    retries: retries(1)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'run_summary {params.date}' --log {log:q}"
        " --out {params.name}={output:q} --"
        " {params.tools}/lstosa-create-run-summary --date {params.date} --r0-path {params.r0_root:q} --output-dir {{staging}}"


# The seed text's Dragon reference names no module: the conversion finds the module (and its data
# index, what ctapipe_io_lst uses) in each run's first raw sub-run, so it runs with the tools'
# Python (protozfits). The raw files are read, not declared as inputs: a missing first sub-run
# only means the documented fallback (index 0, announced in the log), not a blocked night.
rule run_summary_ecsv:
    input:
        lambda wc: plan().summary.path,
    output:
        str(PATHS.derived_run_summary),
    log:
        log_path("run_summary_ecsv.log"),
    resources:
        mem_mb=mem_mb("run_summary_ecsv"),
        runtime=5,
    conda:
        "../../envs/lstchain.yaml"
    params:
        tools=LST,
        date=DATE,
        r0_dir=str(PATHS.r0_dir),
    shell:
        "{params.tools}/python -m lstosa_snake.night.summary_writer --to-ecsv {input:q} --date {params.date}"
        " --r0-dir {params.r0_dir:q} --output {output:q} 2> {log:q}"
