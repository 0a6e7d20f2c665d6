"""lstosa-snake: the nightly LST-1 on-site analysis as a Snakemake workflow.

The package holds the workflow's logic as plain, tested functions: night summary
parsing, calibration sequencing, product paths, reports, status and publishing.
"""

__version__ = "0.1.0"
