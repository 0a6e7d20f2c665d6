# legacy_raw nights (both gains in the raw DATA files): each DATA sub-run is gain-selected by
# lstchain_r0_to_r0g into R0G/<date>/ (LSTOSA's R0G tree, same file names) before r0_to_dl1 reads it.
# Calibration runs keep both gains and are read from R0 as they are. The R0G files are a product of
# the night (kept; the report lists them with the volume saved), shared by every production.

GAIN_SELECTION_RUNNER = (
    f"{PY} -m lstosa_snake.jobs.runner"
    f" --staging-root {shlex_quote(str(PATHS.gain_selection_running_dir / 'staging'))}"
)


rule gain_selection:
    input:
        **{f"r0_{s}": PATHS.pattern("r0", stream=s) for s in (1, 2, 3, 4)},
    output:
        **{f"r0g_{s}": PATHS.pattern("r0g", stream=s) for s in (1, 2, 3, 4)},
    log:
        # the tool's own log, where LSTOSA keeps it (R0G/log/<date>/), and the runner's
        tool=str(PATHS.output_root / "R0G" / "log" / DATE / "r0_to_r0g_{run}.{subrun}.log"),
        runner=str(PATHS.gain_selection_running_dir / "log" / "gain_selection.Run{run}.{subrun}.log"),
    benchmark:
        str(PATHS.gain_selection_running_dir / "benchmarks" / "gain_selection.Run{run}.{subrun}.tsv")
    params:
        runner=GAIN_SELECTION_RUNNER,
        tools=LST,
        # LSTOSA trusts each event's type by default (use_ff_heuristic_gain_selection = False)
        heuristic="" if config.get("gain_selection_flatfield_heuristic") else "--no-flatfield-heuristic",
    resources:
        mem_mb=mem_mb("gain_selection"),
        runtime=lambda wc, attempt: 30 * attempt,  # LSTOSA: 2 GB; minutes per real sub-run
    retries: retries(1)
    # in the sub-run's SLURM job, before r0_to_dl1: no extra wave of jobs
    group: SUBRUN_CHAIN
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'gain_selection run {wildcards.run} sub-run {wildcards.subrun}' --log {log.runner:q}"
        " --check-fits {input.r0_1:q} --check-fits {input.r0_2:q} --check-fits {input.r0_3:q} --check-fits {input.r0_4:q}"
        " --out LST-1.1.Run{wildcards.run}.{wildcards.subrun}.fits.fz={output.r0g_1:q}"
        " --out LST-1.2.Run{wildcards.run}.{wildcards.subrun}.fits.fz={output.r0g_2:q}"
        " --out LST-1.3.Run{wildcards.run}.{wildcards.subrun}.fits.fz={output.r0g_3:q}"
        " --out LST-1.4.Run{wildcards.run}.{wildcards.subrun}.fits.fz={output.r0g_4:q} --"
        " {params.tools}/lstchain_r0_to_r0g --R0-file {input.r0_1:q} --output-dir {{staging}}"
        " --log {log.tool:q} {params.heuristic}"
