# Per sub-run: DL1 -> DL2 (energy, direction, gamma/hadron) with the pre-trained random forests.


rule dl1_to_dl2:
    input:
        dl1=PATHS.pattern("dl1_subrun"),
        models=MODELS_DIR,
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
    resources:
        mem_mb=mem_mb("dl1_to_dl2"),
        runtime=lambda wc, attempt: 20 * attempt,
    retries: retries(1)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'dl1_to_dl2 run {wildcards.run} sub-run {wildcards.subrun}' --log {log:q}"
        " --out dl2_LST-1.Run{wildcards.run}.{wildcards.subrun}.h5={output:q} --"
        " {params.tools}/lstchain_dl1_to_dl2 --input-file {input.dl1:q} --path-models {input.models:q}"
        " --output-dir {{staging}} --config {input.config:q}"
