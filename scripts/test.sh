#!/usr/bin/env bash
# README command 2: set everything up and run the whole test-suite, as CI does (.ci/run).
# As root it also installs and starts what the slow tests need: a single-node SLURM cluster
# (slurm-wlm, munge, slurmdbd + MariaDB), nginx and headless chromium (Debian packages).
#   bash scripts/test.sh [pytest arguments]      e.g. -m "not slurm" or -k status
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/setup.sh
if [ "$(id -u)" = 0 ]; then
    bash tests/infra/install_web.sh
    bash tests/infra/slurm.sh install
    # Started here (and stopped at the end) so that every pytest worker reuses one cluster.
    if ! bash tests/infra/slurm.sh status >/dev/null 2>&1; then
        bash tests/infra/slurm.sh start
        trap 'bash tests/infra/slurm.sh stop >/dev/null 2>&1 || true' EXIT
    fi
    # Everything is installed on purpose: under CI every tier (tools, e2e, slurm, web, benchmark, the
    # mounts) must run, and a test that would skip fails instead (tests/tiers.py). Set it to 0 to allow skips.
    export LSTOSA_REQUIRE_ALL="${LSTOSA_REQUIRE_ALL:-1}"
else
    echo "[test.sh] not root: SLURM, nginx, chromium and the mount tests are not set up; their tests may skip" >&2
fi
# Three workers, one test file each at a time (module fixtures are made once): the real-tool runs,
# the SLURM waits and the fast tests overlap (tests/conftest.py). The run ends with a table of the tests
# of each marker that passed, failed or skipped (tests/tiers.py).
.venv/bin/pytest tests -n 3 --dist loadfile "$@"
