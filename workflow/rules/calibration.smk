# The calibration sequence: DRS4 pedestal from the DRS4 run; time and charge calibration from
# the CALI (PEDCALIB) run, both using the DRS4 pedestal of the paired DRS4 run.


rule drs4_pedestal:
    input:
        r0=lambda wc: r0_streams(wc.run, 0),
    output:
        PATHS.pattern("drs4_pedestal"),
    log:
        calibration_log("drs4_pedestal.Run{run}.log"),
    benchmark:
        calibration_benchmark("drs4_pedestal.Run{run}.tsv")
    params:
        runner=CALIBRATION_RUNNER,
        tools=LST,
    resources:
        mem_mb=mem_mb("drs4_pedestal"),
        runtime=lambda wc, attempt: 30 * attempt,
    retries: retries(2)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'drs4_pedestal run {wildcards.run}' --log {log:q}"
        " --out drs4.h5={output:q} --"
        " {params.tools}/lstchain_create_drs4_pedestal_file --input {input.r0[0]:q} --output {{staging}}/drs4.h5"
        " --overwrite --no-progress"


rule time_calibration:
    input:
        r0=lambda wc: r0_streams(wc.run, 0),
        drs4_pedestal=paired_drs4,
        run_summary=RUN_SUMMARY,
    output:
        PATHS.pattern("time_calibration"),
    log:
        calibration_log("time_calibration.Run{run}.log"),
    benchmark:
        calibration_benchmark("time_calibration.Run{run}.tsv")
    params:
        runner=CALIBRATION_RUNNER,
        tools=LST,
        config=TIME_CALIBRATION_CONFIG,
    resources:
        mem_mb=mem_mb("time_calibration"),
        runtime=lambda wc, attempt: 30 * attempt,
    retries: retries(2)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'time_calibration run {wildcards.run}' --log {log:q}"
        " --out time.h5={output:q} --"
        " {params.tools}/lstosa-create-time-calibration --input-file {input.r0[0]:q} --output-file {{staging}}/time.h5"
        " --pedestal-file {input.drs4_pedestal:q} --config {params.config:q}"
        " --run-summary-path {input.run_summary:q} --no-progress"


rule charge_calibration:
    input:
        r0=lambda wc: r0_streams(wc.run, 0),
        drs4_pedestal=paired_drs4,
        time_calibration=PATHS.pattern("time_calibration"),
        run_summary=RUN_SUMMARY,
    output:
        PATHS.pattern("charge_calibration"),
    log:
        calibration_log("charge_calibration.Run{run}.log"),
    benchmark:
        calibration_benchmark("charge_calibration.Run{run}.tsv")
    params:
        runner=CALIBRATION_RUNNER,
        tools=LST,
        config=CALIBRATION_CONFIG,
    resources:
        mem_mb=mem_mb("charge_calibration"),
        runtime=lambda wc, attempt: 30 * attempt,
    retries: retries(2)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'charge_calibration run {wildcards.run}' --log {log:q}"
        " --out calibration.h5={output:q} --"
        " {params.tools}/lstchain_create_calibration_file --input_file={input.r0[0]:q}"
        " --output_file={{staging}}/calibration.h5"
        " --LSTEventSource.default_trigger_type=tib"
        " --LSTEventSource.LSTR0Corrections.drs4_pedestal_path={input.drs4_pedestal:q}"
        " --LSTEventSource.LSTR0Corrections.drs4_time_calibration_path={input.time_calibration:q}"
        " --LSTEventSource.EventTimeCalculator.run_summary_path={input.run_summary:q}"
        " --config={params.config:q}"
