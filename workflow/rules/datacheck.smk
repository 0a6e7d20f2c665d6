# Our own datacheck plots and the night's datacheck web page (lstosa_snake.web.plots, lstosa_snake.web.datacheck).
# Per run: event rate, intensity, image parameters, gammaness; per calibration pair made tonight:
# flat-field, pedestal and DRS4 baseline per pixel. Each plot directory has plots.json (captions,
# errors). A plot that cannot be made becomes a placeholder with its reason (the job still
# succeeds) and is listed under the page's problems. The night page is made after close_night
# from night_status (plan + products + failure markers), the plots.json files and lstchain's PDFs.

from lstosa_snake.web.datacheck import plot_manifest_paths, publish_retry_token

PLOTS_DIR = PATHS.dl1_dir / "datacheck" / "plots"
RUN_PLOTS = str(PLOTS_DIR / "Run{run}")  # lstosa_snake.web.datacheck.run_plots_dir
CALIBRATION_PLOTS = str(PLOTS_DIR / "calibration_Run{run}")
WEB_ROOT = PATHS.output_root / "datacheck_web" / PATHS.prod_id
NIGHT_PAGE = WEB_ROOT / DATE / "index.html"
PUBLISH_STATUS = PATHS.running_dir / "publish_datacheck.json"


rule run_plots:
    input:
        dl1=PATHS.pattern("dl1_run"),
        dl2=PATHS.pattern("dl2_run"),
    output:
        event_rate=report(
            f"{RUN_PLOTS}/event_rate.png",
            caption="../report/event_rate.rst",
            category="Datacheck",
            subcategory="Run {run}",
        ),
        intensity=report(
            f"{RUN_PLOTS}/intensity.png",
            caption="../report/intensity.rst",
            category="Datacheck",
            subcategory="Run {run}",
        ),
        image_parameters=report(
            f"{RUN_PLOTS}/image_parameters.png",
            caption="../report/image_parameters.rst",
            category="Datacheck",
            subcategory="Run {run}",
        ),
        gammaness=report(
            f"{RUN_PLOTS}/gammaness.png",
            caption="../report/gammaness.rst",
            category="Datacheck",
            subcategory="Run {run}",
        ),
        manifest=f"{RUN_PLOTS}/plots.json",
    log:
        log_path("datacheck/run_plots.Run{run}.log"),
    benchmark:
        benchmark_path("datacheck/run_plots.Run{run}.tsv")
    params:
        tools=LST,
        out_dir=lambda wc, output: str(Path(output.manifest).parent),
    resources:
        mem_mb=mem_mb("run_plots"),
        runtime=lambda wc, attempt: 15 * attempt,
    retries: retries(1)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "MPLBACKEND=Agg {params.tools}/python -m lstosa_snake.web.plots run --run {wildcards.run}"
        " --dl1 {input.dl1:q} --dl2 {input.dl2:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule calibration_plots:
    input:
        calibration=PATHS.pattern("charge_calibration"),
        drs4=paired_drs4,
    output:
        flatfield=report(
            f"{CALIBRATION_PLOTS}/flatfield.png",
            caption="../report/flatfield.rst",
            category="Calibration",
            subcategory="Calibration run {run}",
        ),
        pedestal=report(
            f"{CALIBRATION_PLOTS}/pedestal.png",
            caption="../report/pedestal.rst",
            category="Calibration",
            subcategory="Calibration run {run}",
        ),
        drs4_baseline=report(
            f"{CALIBRATION_PLOTS}/drs4_baseline.png",
            caption="../report/drs4_baseline.rst",
            category="Calibration",
            subcategory="Calibration run {run}",
        ),
        manifest=f"{CALIBRATION_PLOTS}/plots.json",
    log:
        log_path("datacheck/calibration_plots.Run{run}.log"),
    benchmark:
        benchmark_path("datacheck/calibration_plots.Run{run}.tsv")
    params:
        tools=LST,
        out_dir=lambda wc, output: str(Path(output.manifest).parent),
        drs4_run=lambda wc: plan().calibrations_tonight[int(wc.run)],
    resources:
        mem_mb=mem_mb("calibration_plots"),
        runtime=lambda wc, attempt: 15 * attempt,
    retries: retries(1)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "MPLBACKEND=Agg {params.tools}/python -m lstosa_snake.web.plots calibration --run {wildcards.run}"
        " --calibration {input.calibration:q} --drs4 {input.drs4:q} --drs4-run {params.drs4_run}"
        " --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule night_page:
    input:
        plots=lambda wc: plot_manifest_paths(plan(), PLOTS_DIR) + TRANSPARENCY_MANIFESTS,
        provenance=provenance_files,  # linked from the page (provenance.smk)
        pdfs=run_level("datacheck_run_pdf"),
        report=str(PATHS.night_report),
        finished=str(PATHS.night_finished),
        night_datacheck=str(PATHS.night_datacheck.with_suffix(".html")),
    output:
        # also (re)writes WEB_ROOT/index.html, the production's index of all nights: not declared,
        # as every night of the production rewrites it (it would make the other nights' jobs rerun)
        page=str(NIGHT_PAGE),
    log:
        log_path("datacheck/night_page.log"),
    benchmark:
        benchmark_path("datacheck/night_page.tsv")
    params:
        python=PY,
        base=lambda wc: str(BASE),  # the workflow directory (config paths are relative to it), not a file prefix
        web_root=lambda wc, output: str(Path(output.page).parent.parent),
        config_args=plan_config_json,
        publish_status=str(PUBLISH_STATUS),
        provenance_links=lambda wc, input: night_page_links(input.provenance),
    resources:
        mem_mb=mem_mb("night_page"),
        runtime=lambda wc, attempt: 10 * attempt,
    retries: retries(1)
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.python} -m lstosa_snake.web.datacheck night --base {params.base:q}"
        " --config-json {params.config_args} --web-root {params.web_root:q}"
        " --plots {input.plots:q} --pdf {input.pdfs:q}"
        " --link {input.night_datacheck:q} 'lstchain night-wise datacheck (HTML)'"
        " --link {input.report:q} 'night report (JSON)' {params.provenance_links}"
        " --publish-status {params.publish_status:q} > {log:q} 2>&1"
