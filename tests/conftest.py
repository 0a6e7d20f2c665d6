pytest_plugins = ["web_fixtures"]
pytest_plugins = [*pytest_plugins, "slurm_fixtures"]
pytest_plugins = [*pytest_plugins, "synthetic_fixtures"]
pytest_plugins = [*pytest_plugins, "e2e_fixtures"]
