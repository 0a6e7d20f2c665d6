"""Operations around Snakemake: the nightly run (``lstosa-nightly``), reprocessing, production identity, the
failure policy, notifications, progress, graphs and SLURM orphans."""
