"""Where a night stands, read from the disk (``lstosa-status``)."""
