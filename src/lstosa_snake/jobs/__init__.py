"""What runs inside a job (locally or in a SLURM allocation): the tool runner, lstchain work-arounds, the DL1b
steps, the product manifest and the rules' memory requests."""
