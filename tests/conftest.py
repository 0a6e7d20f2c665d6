pytest_plugins = ["web_fixtures"]
pytest_plugins = [*pytest_plugins, "slurm_fixtures"]
pytest_plugins = [*pytest_plugins, "synthetic_fixtures"]
pytest_plugins = [*pytest_plugins, "e2e_fixtures"]


# With pytest-xdist (scripts/test.sh runs `-n 3 --dist loadgroup`), tests sharing an expensive
# session fixture must run in one worker: session fixtures are per worker process.
#   e2e:   the real workflow run on the synthetic night (local_night) and everything using it
#   slurm: the toy-workflow SLURM tests (mostly waiting on the cluster: overlaps the CPU-heavy ones)
#   tools: the remaining real-tool tests
_XDIST_GROUPS = (("e2e", "local_night"), ("e2e", "calibrated_night"), ("slurm", None), ("tools", None))


import pytest  # noqa: E402


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the marker into the scheduling group
def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        markers = {m.name for m in item.iter_markers()}
        for group, fixture in _XDIST_GROUPS:
            if (fixture and fixture in fixtures) or (fixture is None and group in markers):
                item.add_marker(pytest.mark.xdist_group(group))
                break
