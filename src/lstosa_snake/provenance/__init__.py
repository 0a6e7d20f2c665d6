"""Provenance of the night's products: how every file was made, back to the raw files.

Two stages (docs/provenance.md):

1. **Per job** (:func:`records.write_job_record`, called by :mod:`lstosa_snake.jobs.runner` after a job's products
   are in place): one small JSON record in ``<running dir>/provenance/jobs/<job>.json`` with the tool,
   its distribution and version (read from the tool environment's ``*.dist-info``, no import), the
   exact command line, every input named on it (size; sha256 for configuration files and files up
   to ``HASH_LIMIT``), the outputs, start/end times (UTC) and the host. Written atomically; a re-run
   of the job replaces it, so a record always describes the product on disk.
2. **Per run** (``python -m lstosa_snake.provenance run ...``, rule ``run_provenance``): the records
   are chained from the run's final products back to files no job made (raw data, configuration,
   models, drive log) into one W3C PROV document (PROV-JSON, the ``prov`` library) and a picture of
   its graph (SVG, graphviz ``dot``), as LSTOSA's ``provprocess`` does per run.

``lstosa-status --provenance FILE`` (:func:`chain.explain`) prints the same chain as text for any product.

Modules: ``records`` (per job; only the standard library, since the runner imports it for every job),
``chain`` (from a product back through the records), ``document`` (the PROV document and its picture).
"""
