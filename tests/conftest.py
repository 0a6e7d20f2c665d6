# tiers first: its require_or_skip is what the fixtures below call when a component is missing
pytest_plugins = ["tiers", "pytester", "web_fixtures"]
pytest_plugins = [*pytest_plugins, "slurm_fixtures"]
pytest_plugins = [*pytest_plugins, "synthetic_fixtures"]
pytest_plugins = [*pytest_plugins, "e2e_fixtures"]


# scripts/test.sh runs the suite on 3 pytest-xdist workers. Session fixtures are per worker: the
# expensive real-tool products (local_night, models_dir in e2e_fixtures.py) are made once and
# shared between workers under a file lock.
