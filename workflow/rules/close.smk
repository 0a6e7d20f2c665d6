# Closing the night: per run, merge the sub-runs' DL1 (DL1b with dl1ab; without images), DL2 and muons and make
# the run's datacheck with its PDF; then the night-wise datacheck and the night report.
# The tools take a directory or a glob: they are pointed at a staging directory of links to
# exactly the sub-runs planned for the run (excluded or failed ones are not there).
# DL2 files are merged with lstosa-merge-hdf5-files (work-around 3 in lstosa_snake.jobs.lstchain_fixes).
# lstchain_check_dl1 writes a run's merged datacheck file next to its inputs ({inputs}, i.e.
# _inputs/ in the staging dir) and the PDF into --output-dir.


rule merge_dl1:
    input:
        # the sub-runs' DL1b files when dl1ab is on (as LSTOSA merges them): the run's DL1 is the DL1 its DL2 was made from
        dl1=subrun_files("dl1b_subrun" if DL1B else "dl1_subrun"),
        tailcuts=dl1_level_tailcuts,
    output:
        PATHS.pattern("dl1_run"),
    log:
        log_path("merge/merge_dl1.Run{run}.log"),
    benchmark:
        benchmark_path("merge/merge_dl1.Run{run}.tsv")
    params:
        runner=RUNNER,
        tools=LST,
        staged=lambda wc, input: staged(input.dl1),
        place=lambda wc, output: place_args(wc, [(output[0], PATHS.lstosa_dl1_run(wc.run, TC))]),
    resources:
        mem_mb=mem_mb("merge_dl1"),
        runtime=lambda wc, attempt: 30 * attempt,
    retries: retries(1)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'merge_dl1 run {wildcards.run}' --log {log:q}"
        " {params.staged} --out merged.h5={output:q} {params.place} --"
        " {params.tools}/lstchain_merge_hdf5_files --input-dir {{inputs}} --output-file {{staging}}/merged.h5"
        " --no-image --run-number {wildcards.run} --no-progress"


rule merge_dl2:
    input:
        dl2=subrun_files("dl2_subrun"),
        tailcuts=dl2_level_tailcuts,
    output:
        PATHS.pattern("dl2_run"),
    log:
        log_path("merge/merge_dl2.Run{run}.log"),
    benchmark:
        benchmark_path("merge/merge_dl2.Run{run}.tsv")
    params:
        runner=RUNNER,
        tools=LST,
        staged=lambda wc, input: staged(input.dl2),
        place=lambda wc, output: place_args(wc, [(output[0], PATHS.lstosa_dl2_run(wc.run, TC, NSB))]),
    resources:
        mem_mb=mem_mb("merge_dl2"),
        runtime=lambda wc, attempt: 30 * attempt,
    retries: retries(1)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'merge_dl2 run {wildcards.run}' --log {log:q}"
        " {params.staged} --out merged.h5={output:q} {params.place} --"
        " {params.tools}/lstosa-merge-hdf5-files --input-dir {{inputs}} --output-file {{staging}}/merged.h5"
        " --run-number {wildcards.run} --no-progress"


rule merge_muons:
    input:
        subrun_files("muons_subrun"),
    output:
        PATHS.pattern("muons_run"),
    log:
        log_path("merge/merge_muons.Run{run}.log"),
    benchmark:
        benchmark_path("merge/merge_muons.Run{run}.tsv")
    params:
        runner=RUNNER,
        tools=LST,
        staged=lambda wc, input: staged(input),
    resources:
        mem_mb=mem_mb("merge_muons"),
        runtime=lambda wc, attempt: 20 * attempt,
    retries: retries(1)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'merge_muons run {wildcards.run}' --log {log:q}"
        " {params.staged} --out merged.fits={output:q} --"
        " {params.tools}/lstchain_merge_muon_files --input-dir {{inputs}} --output-file {{staging}}/merged.fits"
        " --run-number {wildcards.run} --pattern 'muons_LST-1.Run*.fits'"


rule run_datacheck:
    input:
        datacheck=subrun_files("datacheck_subrun"),
        muons=subrun_files("muons_subrun"),
        tailcuts=dl1_level_tailcuts,
    output:
        h5=PATHS.pattern("datacheck_run"),
        pdf=PATHS.pattern("datacheck_run_pdf"),
    log:
        log_path("datacheck/run_datacheck.Run{run}.log"),
    benchmark:
        benchmark_path("datacheck/run_datacheck.Run{run}.tsv")
    params:
        runner=RUNNER,
        tools=LST,
        staged=lambda wc, input: staged(input.datacheck + input.muons),
        names=run_datacheck_names,
        place=lambda wc, output: place_args(wc, [
            (output.h5, PATHS.lstosa_datacheck_run(wc.run, TC)), (output.pdf, PATHS.lstosa_datacheck_run_pdf(wc.run, TC))
        ]),
    resources:
        mem_mb=mem_mb("run_datacheck"),
        runtime=lambda wc, attempt: 30 * attempt,
    retries: retries(1)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'run_datacheck run {wildcards.run}' --log {log:q}"
        " {params.staged}"
        " --out {params.names[h5]}={output.h5:q} --out {params.names[pdf]}={output.pdf:q} {params.place} --"
        " {params.tools}/lstchain_check_dl1 --input-file '{{inputs}}/datacheck_dl1_LST-1.Run{wildcards.run}.*.h5'"
        " --output-dir {{staging}} --muons-dir {{inputs}} --batch"


rule night_datacheck:
    input:
        datacheck=run_level("datacheck_run"),
        muons=run_level("muons_run"),
    output:
        # with cherenkov_transparency on, an intermediate that rule updates on a copy (transparency.smk)
        h5=temp(NIGHT_DATACHECK_LONGTERM) if TRANSPARENCY else NIGHT_DATACHECK_LONGTERM,
        html=str(PATHS.night_datacheck.with_suffix(".html")),
        warnings=str(PATHS.night_datacheck_file("log")),  # the tool's data-quality warnings (LSTOSA keeps it)
    log:
        log_path("datacheck/night_datacheck.log"),
    benchmark:
        benchmark_path("datacheck/night_datacheck.tsv")
    params:
        runner=RUNNER,
        tools=LST,
        date=DATE,
        staged=lambda wc, input: staged(input.datacheck + input.muons),
        name=PATHS.night_datacheck.stem,
    resources:
        mem_mb=mem_mb("night_datacheck"),
        runtime=lambda wc, attempt: 30 * attempt,
    retries: retries(1)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.runner} --label 'night_datacheck {params.date}' --log {log:q}"
        " {params.staged} --out {params.name}.h5={output.h5:q} --out {params.name}.html={output.html:q}"
        " --out {params.name}.log={output.warnings:q} --"
        " {params.tools}/lstchain_longterm_dl1_check --input-dir {{inputs}} --muons-dir {{inputs}}"
        " --output-file {{staging}}/{params.name}.h5 --batch"


# The links LSTOSA's closer makes for the site's readers (copy_datacheck, the long-term checks):
# DL1/datacheck_files/<date>/ to every datacheck file (muons/ to the muon files), and
# DL1/datacheck_files/night_wise/DL1_datacheck_<date>.* to the latest production's night-wise files.
localrules:
    lstosa_links,


rule lstosa_links:
    input:
        datacheck=lambda wc: [str(PATHS.datacheck_subrun(r, s)) for r, s in plan().subrun_pairs()]
        + run_level("datacheck_run")(wc) + run_level("datacheck_run_pdf")(wc),
        muons=lambda wc: [str(PATHS.muons_subrun(r, s)) for r, s in plan().subrun_pairs()] + run_level("muons_run")(wc),
        night=[str(PATHS.night_datacheck_file(ext)) for ext in ("h5", "html", "log")],
    output:
        str(PATHS.running_dir / "lstosa_links.txt"),
    log:
        log_path("lstosa_links.log"),
    params:
        tools=LST,
        links_dir=str(PATHS.datacheck_links_dir),
        night_wise=lambda wc, input: str(Path(input.night[0]).parents[2]),  # night_wise/<prod_id>/<date>/file
        date=PATHS.date,
    resources:
        mem_mb=mem_mb("close_night"),
        runtime=10,
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.tools}/python -m lstosa_snake.jobs.layout datacheck-links --links-dir {params.links_dir:q}"
        " --datacheck {input.datacheck:q} --muons {input.muons:q} --done {output:q} > {log:q} 2>&1"
        " && {params.tools}/python -m lstosa_snake.jobs.layout longterm-links --night-wise-root {params.night_wise:q}"
        " --date {params.date} --link-dir {params.night_wise:q} >> {log:q} 2>&1"


rule close_night:
    input:
        links=rules.lstosa_links.output,
        dl1=run_level("dl1_run"),
        dl2=run_level("dl2_run"),
        muons=run_level("muons_run"),
        datacheck=run_level("datacheck_run_pdf"),
        night_datacheck=str(PATHS.night_datacheck),
    output:
        report=str(PATHS.night_report),
        lstosa_finished=str(PATHS.lstosa_night_finished),
        finished=str(PATHS.night_finished),
    log:
        log_path("close_night.log"),
    params:
        tools=LST,
        config_args=plan_config_json,
        base=lambda wc: str(BASE),  # the workflow directory (config paths are relative to it), not a file prefix
    resources:
        mem_mb=mem_mb("close_night"),
        runtime=10,
    conda:
        "../../envs/lstchain.yaml"
    # then the product manifest a closed night is checked against (lstosa_snake.jobs.integrity)
    shell:
        "{params.tools}/python -m lstosa_snake.web.report close --base {params.base:q} --config-json {params.config_args}"
        " --report {output.report:q} --finished {output.lstosa_finished:q} --finished {output.finished:q} > {log:q} 2>&1"
        " && {params.tools}/python -m lstosa_snake.jobs.integrity write --base {params.base:q}"
        " --config-json {params.config_args} >> {log:q} 2>&1"

