# Cherenkov transparency (config key cherenkov_transparency, default on): lstchain_cherenkov_transparency
# fits the cosmic-ray intensity spectrum of every sub-run in the run-wise datacheck files and adds the
# table cosmics_intensity_spectrum (light yield, rate at 422 p.e., ...) to the night-wise datacheck file,
# as LSTOSA's closer does. The tool updates the file it is given: night_datacheck (close.smk) then
# writes its file into the work area, and cherenkov_transparency updates a copy of it in its staging
# directory and renames the copy into the night-wise file, so the final file is never changed in place.
# transparency_plot draws the table for the night page (lstosa_snake.web.transparency).

TRANSPARENCY = bool(config.get("cherenkov_transparency", True))
# night_datacheck's output: the final night-wise file without transparency, else an intermediate
NIGHT_DATACHECK_LONGTERM = (
    str(PATHS.running_dir / "night_datacheck" / PATHS.night_datacheck.name) if TRANSPARENCY
    else str(PATHS.night_datacheck)
)
TRANSPARENCY_PLOTS = PATHS.dl1_dir / "datacheck" / "plots" / "transparency"
# the night page's extra plot manifest (night_page in datacheck.smk)
TRANSPARENCY_MANIFESTS = [str(TRANSPARENCY_PLOTS / "plots.json")] if TRANSPARENCY else []

if TRANSPARENCY:

    localrules:
        transparency_plot,

    rule cherenkov_transparency:
        input:
            night=NIGHT_DATACHECK_LONGTERM,
            datacheck=run_level("datacheck_run"),
        output:
            str(PATHS.night_datacheck),
        log:
            log_path("datacheck/cherenkov_transparency.log"),
        benchmark:
            benchmark_path("datacheck/cherenkov_transparency.tsv")
        params:
            runner=RUNNER,
            tools=LST,
            date=DATE,
            staged=lambda wc, input: staged(input.datacheck),
            name=PATHS.night_datacheck.name,
        resources:
            mem_mb=mem_mb("cherenkov_transparency"),
            runtime=lambda wc, attempt: 20 * attempt,
        retries: retries(1)
        conda:
            "../../envs/lstchain.yaml"
        # the tool reads {inputs}/datacheck_dl1_LST-1.Run?????.h5 (the run-wise files) and appends to the copy
        shell:
            "{params.runner} --label 'cherenkov_transparency {params.date}' --log {log:q}"
            " {params.staged} --copy-input {params.name}={input.night:q} --out {params.name}={output:q} --"
            " {params.tools}/lstchain_cherenkov_transparency --update-datacheck-file {{staging}}/{params.name}"
            " --input-dir {{inputs}}"

    rule transparency_plot:
        input:
            str(PATHS.night_datacheck),
        output:
            png=report(
                str(TRANSPARENCY_PLOTS / "transparency.png"),
                caption="../report/transparency.rst",
                category="Datacheck",
                subcategory="Night",
            ),
            manifest=str(TRANSPARENCY_PLOTS / "plots.json"),
        log:
            log_path("datacheck/transparency_plot.log"),
        benchmark:
            benchmark_path("datacheck/transparency_plot.tsv")
        params:
            tools=LST,
            date=DATE,
            out_dir=lambda wc, output: str(Path(output.manifest).parent),
        resources:
            mem_mb=mem_mb("transparency_plot"),
            runtime=lambda wc, attempt: 10 * attempt,
        retries: retries(1)
        conda:
            "../../envs/lstchain.yaml"
        shell:
            "MPLBACKEND=Agg {params.tools}/python -m lstosa_snake.web.transparency plot --night-datacheck {input:q}"
            " --date {params.date} --out-dir {params.out_dir:q} > {log:q} 2>&1"
