# Provenance (config key provenance, default on). Every job that runs through lstosa_snake.jobs.runner leaves
# a record (tool, version, command, inputs with sizes and hashes, outputs, times, host) in
# running_analysis/<date>/<prod_id>/provenance/jobs/ (calibration: running_analysis/<date>/calibration/
# <version>/provenance/jobs/). Per run, after its merges and datacheck, run_provenance chains those
# records from the run's final products back to the raw files into a W3C PROV document (PROV-JSON)
# and its graph (SVG), as LSTOSA's provprocess does; the night page links them. docs/provenance.md.

from lstosa_snake.provenance.document import night_page_links, run_document_paths

PROVENANCE = bool(config.get("provenance", True))
PROVENANCE_DIR = PATHS.dl1_dir / "provenance"
PROVENANCE_JSON = str(PROVENANCE_DIR / "prov_LST-1.Run{run}.json")
PROVENANCE_SVG = str(PROVENANCE_DIR / "prov_LST-1.Run{run}.svg")
# read by the assembly; an earlier night's borrowed calibration is found from its files' paths
PROVENANCE_RECORDS = [
    str(PATHS.running_dir / "provenance" / "jobs"),
    str(PATHS.calibration_running_dir / "provenance" / "jobs"),
    str(PATHS.gain_selection_running_dir / "provenance" / "jobs"),  # legacy_raw: R0G back to R0
]


# every run's PROV-JSON and graph, linked from the night page (night_page in datacheck.smk); none when off
provenance_files = lambda wc: run_document_paths(plan().runs, PROVENANCE_JSON, PROVENANCE_SVG) if PROVENANCE else []


if PROVENANCE:

    localrules:
        run_provenance,

    rule run_provenance:
        input:
            dl1=PATHS.pattern("dl1_run"),
            dl2=PATHS.pattern("dl2_run"),
            muons=PATHS.pattern("muons_run"),
            datacheck=PATHS.pattern("datacheck_run"),
            datacheck_pdf=PATHS.pattern("datacheck_run_pdf"),
        output:
            json=PROVENANCE_JSON,
            svg=PROVENANCE_SVG,
        log:
            log_path("provenance/run_provenance.Run{run}.log"),
        benchmark:
            benchmark_path("provenance/run_provenance.Run{run}.tsv")
        params:
            python=PY,
            records=" ".join(f"--records {shlex_quote(d)}" for d in PROVENANCE_RECORDS),
            products=lambda wc, input: " ".join(f"--product {shlex_quote(str(p))}" for p in input),
        resources:
            mem_mb=mem_mb("run_provenance"),
            runtime=lambda wc, attempt: 10 * attempt,
        retries: retries(1)
        conda:
            "../../envs/lstchain.yaml"
        shell:
            "{params.python} -m lstosa_snake.provenance run {params.products} {params.records}"
            " --json {output.json:q} --svg {output.svg:q} > {log:q} 2>&1"
            # under LSTOSA's name for the same grain, beside the run's DL2 (docs/provenance.md)
            " && {params.python} -m lstosa_snake.jobs.layout log-link --beside {input.dl2:q}"
            " --name calibration_to_dl2_{wildcards.run}_prov.json {output.json:q} >> {log:q} 2>&1"
