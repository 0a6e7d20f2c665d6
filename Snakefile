# lstosa-snake: the nightly LST-1 on-site analysis.
#   snakemake --profile profiles/default --config date=2020-01-27
# The night summary is expanded into (run, sub-run) jobs: calibration first, then per sub-run
# r0_to_dl1 -> dl1_datacheck -> dl1_to_dl2, then per run merges and datacheck, then the night closes.

# Found next to this file, so that --directory can put Snakemake's state elsewhere.
configfile: f"{workflow.basedir}/config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/night_summary.smk"
include: "workflow/rules/calibration.smk"
include: "workflow/rules/dl1ab.smk"
include: "workflow/rules/gain_selection.smk"
include: "workflow/rules/r0_to_dl1.smk"
include: "workflow/rules/dl1_to_dl2.smk"
include: "workflow/rules/transparency.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/close.smk"
include: "workflow/rules/datacheck.smk"
include: "workflow/rules/publish.smk"

# Bookkeeping steps of a second or less run where Snakemake runs, also on SLURM: a SLURM job costs
# a Snakemake start and a polling interval, and these steps sit on the night's critical path.
# (publish_datacheck is local for another reason: see publish.smk.)
localrules:
    run_summary_ecsv,
    run_plots,
    close_night,
    night_page,


rule all:
    input:
        night_targets,
    default_target: True
