# The calibration sequence: DRS4 pedestal from the DRS4 run; time and charge calibration from
# the CALI (PEDCALIB) run, both using the DRS4 pedestal of the paired DRS4 run.
# time_calibration: lookup takes LSTOSA's "pro" time calibration instead of computing it, and
# ffactor_systematics adds the F-factor systematics file (lstosa_snake.night.calibration_lookup,
# docs/calibration.md).
from lstosa_snake.night.calibration_lookup import systematics_option

TIME_CALIBRATION_LOOKUP = (config.get("time_calibration") or "compute") == "lookup"
SYSTEMATICS_CONFIGURED = bool(config.get("ffactor_systematics"))

# Lookup errors (no file in the data tree) stop the night at start, in one line, not in a job.
if workflow.is_main_process and PLAN is not None and PLAN.calibration_lookup is not None:
    try:
        for _run in PLAN.runs:
            PLAN.calibration_files(_run)
        for _cali in PLAN.calibrations_tonight:
            PLAN.calibration_lookup.files(_cali, PATHS.night)
    except LstosaError as exc:
        fail(exc)

# On SLURM the night's calibration (drs4_pedestal -> time_calibration, charge_calibration) is one job, as in
# LSTOSA: two SLURM hops less before the first sub-run can start (inactive locally).
CALIBRATION_CHAIN = "calibration"


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
    group: CALIBRATION_CHAIN
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'drs4_pedestal run {wildcards.run}' --log {log:q} --pro-link"
        " --out drs4.h5={output:q} --"
        " {params.tools}/lstchain_create_drs4_pedestal_file --input {input.r0[0]:q} --output {{staging}}/drs4.h5"
        " --overwrite --no-progress"


rule time_calibration:
    input:
        r0=cali_r0,
        drs4_pedestal=paired_drs4,
        run_summary=cali_run_summary,
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
    group: CALIBRATION_CHAIN
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'time_calibration run {wildcards.run}' --log {log:q} --pro-link"
        " --out time.h5={output:q} --"
        " {params.tools}/lstosa-create-time-calibration --input-file {input.r0[0]:q} --output-file {{staging}}/time.h5"
        " --pedestal-file {input.drs4_pedestal:q} --config {params.config:q}"
        " --run-summary-path {input.run_summary:q} --no-progress"


rule charge_calibration:
    input:
        r0=cali_r0,
        drs4_pedestal=paired_drs4,
        # looked up: the "pro" file of the latest run at or before this CALI run
        time_calibration=(
            (lambda wc: str(plan().calibration_lookup.time_calibration_file(int(wc.run), PATHS.night)))
            if TIME_CALIBRATION_LOOKUP else PATHS.pattern("time_calibration")
        ),
        run_summary=cali_run_summary,
        ffactor_systematics=(lambda wc: plan().calibration_lookup.systematics_inputs()) if SYSTEMATICS_CONFIGURED else [],
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
        systematics=systematics_option("--LSTCalibrationCalculator.systematic_correction_path") if SYSTEMATICS_CONFIGURED else "",
    resources:
        mem_mb=mem_mb("charge_calibration"),
        runtime=lambda wc, attempt: 30 * attempt,
    retries: retries(2)
    group: CALIBRATION_CHAIN
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'charge_calibration run {wildcards.run}' --log {log:q} --pro-link"
        " --out calibration.h5={output:q} --"
        " {params.tools}/lstchain_create_calibration_file --input_file={input.r0[0]:q}"
        " --output_file={{staging}}/calibration.h5"
        " --LSTEventSource.default_trigger_type=tib"
        " --LSTEventSource.LSTR0Corrections.drs4_pedestal_path={input.drs4_pedestal:q}"
        " --LSTEventSource.LSTR0Corrections.drs4_time_calibration_path={input.time_calibration:q}"
        " --LSTEventSource.EventTimeCalculator.run_summary_path={input.run_summary:q}"
        " --config={params.config:q} {params.systematics}"


# The PDFs lstchain's onsite calibration scripts draw into <version>/log/ and LSTOSA's copy_datacheck
# publishes (lstosa_snake.jobs.calibration_pdfs, lstchain's plotting functions). Not in the calibration's
# SLURM job: the sub-runs need the calibration files, not their pictures.
rule drs4_pedestal_pdf:
    input:
        r0=lambda wc: r0_streams(wc.run, 0),
        drs4_pedestal=PATHS.pattern("drs4_pedestal"),
    output:
        PATHS.pattern("drs4_pedestal_pdf"),
    log:
        calibration_log("drs4_pedestal_pdf.Run{run}.log"),
    benchmark:
        calibration_benchmark("drs4_pedestal_pdf.Run{run}.tsv")
    params:
        runner=CALIBRATION_RUNNER,
        tools=LST,
    resources:
        mem_mb=mem_mb("drs4_pedestal_pdf"),
        runtime=lambda wc, attempt: 20 * attempt,
    retries: retries(1)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'drs4_pedestal_pdf run {wildcards.run}' --log {log:q} --out drs4.pdf={output:q} --"
        " {params.tools}/python -m lstosa_snake.jobs.calibration_pdfs drs4 --r0 {input.r0[0]:q}"
        " --pedestal {input.drs4_pedestal:q} --run {wildcards.run} --output {{staging}}/drs4.pdf"


rule charge_calibration_pdf:
    input:
        PATHS.pattern("charge_calibration"),
    output:
        PATHS.pattern("charge_calibration_pdf"),
    log:
        calibration_log("charge_calibration_pdf.Run{run}.log"),
    benchmark:
        calibration_benchmark("charge_calibration_pdf.Run{run}.tsv")
    params:
        runner=CALIBRATION_RUNNER,
        tools=LST,
    resources:
        mem_mb=mem_mb("charge_calibration_pdf"),
        runtime=lambda wc, attempt: 20 * attempt,
    retries: retries(1)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'charge_calibration_pdf run {wildcards.run}' --log {log:q}"
        " --out calibration.pdf={output:q} --"
        " {params.tools}/python -m lstosa_snake.jobs.calibration_pdfs calibration --calibration {input:q}"
        " --run {wildcards.run} --output {{staging}}/calibration.pdf"
