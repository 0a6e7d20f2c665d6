# Publishing the night's datacheck web directory (datacheck_web/<prod_id>/<YYYYMMDD>/ and the
# production's index) to the password-protected web server: WebDAV PUT with lstosa_snake.web.publish.
# URL: config datacheck_url (+ /<prod_id>/); null = skipped. Credentials only from the environment
# (LSTOSA_WEB_USER/LSTOSA_WEB_PASSWORD) or netrc, never from the configuration or the logs.
# The job always succeeds: the outcome (sent/unchanged/failed/skipped, error) is in the status
# file running_analysis/<date>/<prod_id>/publish_datacheck.json, in the log and, after a failure,
# among the night page's problems. A failed publication is retried by the next invocation: the
# failure's time is a parameter, and a changed parameter makes Snakemake run the job again.

# On SLURM it runs where Snakemake runs: compute nodes may have no way out to the web server.
localrules:
    publish_datacheck,


rule publish_datacheck:
    input:
        page=str(NIGHT_PAGE),
    output:
        status=str(PUBLISH_STATUS),
    log:
        log_path("publish_datacheck.log"),
    params:
        python=PY,
        web_root=lambda wc, input: str(Path(input.page).parent.parent),
        date=str(PATHS.night),
        url=lambda wc: f"{config['datacheck_url'].rstrip('/')}/{PATHS.prod_id}/" if config.get("datacheck_url") else "",
        retry_after=lambda wc: publish_retry_token(PUBLISH_STATUS),
    resources:
        mem_mb=mem_mb("publish_datacheck"),
        runtime=30,
    conda:
        "../../envs/lstchain.yaml"
    shell:
        "{params.python} -m lstosa_snake.web.datacheck publish --web-root {params.web_root:q}"
        " --date {params.date} --url={params.url:q} --status {output.status:q} > {log:q} 2>&1"
