# Per sub-run: R0 -> DL1 (calibration, cleaning, Hillas parameters, muons, interleaved events)
# and the sub-run's DL1 datacheck.


rule r0_to_dl1:
    input:
        unpack(calibration_inputs),
        **R0_STREAMS,
        pointing=str(PATHS.pointing_file),
        run_summary=RUN_SUMMARY,
        config=LSTCHAIN_CONFIG,
    output:
        dl1=PATHS.pattern("dl1_subrun"),
        muons=PATHS.pattern("muons_subrun"),
        interleaved=PATHS.pattern("interleaved_subrun"),
    log:
        log_path("r0_to_dl1/r0_to_dl1.Run{run}.{subrun}.log"),
    benchmark:
        benchmark_path("r0_to_dl1/r0_to_dl1.Run{run}.{subrun}.tsv")
    params:
        runner=RUNNER,
        tools=LST,
        max_events=MAX_EVENTS,
        # the F-factor systematics correct the interleaved calibration updates (ffactor_systematics)
        systematics=systematics_option("--systematic-correction-file") if SYSTEMATICS_CONFIGURED else "",
    resources:
        mem_mb=mem_mb("r0_to_dl1"),
        runtime=lambda wc, attempt: 75 * attempt,  # LSTOSA: 1:15 per sub-run (~50 min on real data)
    retries: retries(2)
    group: SUBRUN_CHAIN
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'r0_to_dl1 run {wildcards.run} sub-run {wildcards.subrun}' --log {log:q}"
        " --check-fits {input.r0_1:q} --check-fits {input.r0_2:q} --check-fits {input.r0_3:q} --check-fits {input.r0_4:q}"
        " --out dl1_LST-1.Run{wildcards.run}.{wildcards.subrun}.h5={output.dl1:q}"
        " --out muons_LST-1.Run{wildcards.run}.{wildcards.subrun}.fits={output.muons:q}"
        " --out interleaved/interleaved_LST-1.Run{wildcards.run}.{wildcards.subrun}.h5={output.interleaved:q} --"
        " {params.tools}/lstchain_data_r0_to_dl1 --input-file {input.r0_1:q} --output-dir {{staging}}"
        " --config {input.config:q} --pointing-file {input.pointing:q}"
        " --pedestal-file {input.drs4_pedestal:q} --calibration-file {input.charge_calibration:q}"
        " --time-calibration-file {input.time_calibration:q} --run-summary-path {input.run_summary:q} {params.max_events}"
        " {params.systematics}"


rule dl1_datacheck:
    input:
        dl1=DL1_FOR_DATACHECK,  # the DL1b file (dl1ab.smk)
        tailcuts=dl1_level_tailcuts if DATACHECK_FROM_DL1B else [],
    output:
        PATHS.pattern("datacheck_subrun"),
    log:
        log_path("dl1_datacheck/dl1_datacheck.Run{run}.{subrun}.log"),
    benchmark:
        benchmark_path("dl1_datacheck/dl1_datacheck.Run{run}.{subrun}.tsv")
    params:
        runner=RUNNER,
        tools=LST,
        # LSTOSA has no sub-run datacheck from DL1a when DL1b is on (store_image_dl1ab: false): ours stays put
        place=lambda wc, output: place_args(wc, [(output[0], PATHS.lstosa_datacheck_subrun(wc.run, wc.subrun, TC))])
        if DATACHECK_FROM_DL1B or not DL1B else "",
    resources:
        mem_mb=mem_mb("dl1_datacheck"),
        runtime=lambda wc, attempt: 20 * attempt,
    retries: retries(1)
    group: subrun_chain_of(DL1_FOR_DATACHECK)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'dl1_datacheck run {wildcards.run} sub-run {wildcards.subrun}' --log {log:q}"
        " --out datacheck_dl1_LST-1.Run{wildcards.run}.{wildcards.subrun}.h5={output:q} {params.place} --"
        " {params.tools}/lstchain_check_dl1 --input-file {input.dl1:q} --output-dir {{staging}} --omit-pdf --batch"
