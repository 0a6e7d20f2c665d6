"""Fixtures for the web tests: a throw-away nginx WebDAV server and headless chromium.

Both skip the test when the Debian package is missing (install them with
``bash tests/infra/install_web.sh``).  With ``LSTOSA_REQUIRE_ALL=1`` (set by scripts/test.sh)
or ``LSTOSA_REQUIRE_WEB=1`` a missing package fails the test instead (tests/tiers.py), so a
broken install step cannot pass as skipped tests.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tiers import require_or_skip

_INFRA = Path(__file__).parent / "infra"


def _load_nginx_module():
    name = "lstosa_test_infra_nginx"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _INFRA / "nginx.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


nginx_infra = _load_nginx_module()


def _missing(what: str):
    require_or_skip(f"{what} not installed (run: bash tests/infra/install_web.sh)", tier="web")


@pytest.fixture(scope="session")
def nginx_dav():
    """A running nginx (127.0.0.1, free port) with WebDAV + basic auth on the whole site
    (``url``) and a read-only, auth-free view of the same root on a second port
    (``public_url``, for the browser).

    Attributes: ``url``, ``public_url``, ``root``, ``user``, ``password``, ``pid``,
    ``log_entries()``, ``count(method, uri_prefix)``.  Session-scoped: tests publish
    below their own unique sub-path."""
    binary = nginx_infra.find_nginx()
    if binary is None:
        _missing("nginx")
    if not nginx_infra.nginx_has_dav(binary):
        _missing("nginx with the http_dav module")
    prefix = Path(tempfile.mkdtemp(prefix="lstosa-nginx-"))
    server = nginx_infra.start_nginx(prefix, public=True)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(prefix, ignore_errors=True)


@pytest.fixture
def dav_path(request):
    """A unique URL path below the nginx root for one test, e.g. 'test_x/'."""
    name = request.node.name
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return f"{safe}/"


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]


class Chromium:
    def __init__(self, binary: str, workdir: Path):
        self.binary = binary
        self.workdir = workdir
        self._n = 0

    def run(self, url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run headless chromium on ``url`` with a fresh profile; returns the process."""
        self._n += 1
        profile = self.workdir / f"profile-{self._n}"
        profile.mkdir(parents=True)
        cmd = [self.binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def dump_dom(self, url: str, budget_ms: int = 10000) -> str:
        res = self.run(url, "--dump-dom", f"--virtual-time-budget={budget_ms}")
        if res.returncode != 0:
            raise RuntimeError(f"chromium failed ({res.returncode}): {res.stderr[-2000:]}")
        return res.stdout

    def screenshot(self, url: str, out: Path, size: str = "1280,2000") -> Path:
        res = self.run(url, f"--screenshot={out}", f"--window-size={size}", "--virtual-time-budget=5000")
        if res.returncode != 0 or not out.exists():
            raise RuntimeError(f"chromium screenshot failed ({res.returncode}): {res.stderr[-2000:]}")
        return out


@pytest.fixture
def chromium(tmp_path):
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        _missing("chromium")
    return Chromium(binary, tmp_path / "chromium")
