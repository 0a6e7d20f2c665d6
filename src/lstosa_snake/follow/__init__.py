"""Following a night while it is observed (``lstosa-follow``): raw-file watching, run probing, replaying a night."""
