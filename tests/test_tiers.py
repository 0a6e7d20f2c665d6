"""The switch that keeps tiers from passing by accident (tests/tiers.py), run on a small inner test-suite.

The inner suite uses the real fixtures with their components made missing (the lstchain tools in an
empty directory, no chromium on PATH), a bare skip, a skipped module, an xfail and a plain pass. Without
a switch the missing components skip; with LSTOSA_REQUIRE_ALL=1 (what scripts/test.sh sets) every
one of them fails, and the per-marker table at the end counts what ran.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest

from tiers import TIERS

TESTS = Path(__file__).resolve().parent

INNER_CONFTEST = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
pytest_plugins = ["tiers", "synthetic_fixtures", "web_fixtures"]
"""

INNER_TESTS = """
import pytest
from tiers import require_or_skip

@pytest.mark.tools
def test_needs_tools(synthetic_night):
    pass

@pytest.mark.web
def test_needs_chromium(chromium):
    pass

@pytest.mark.mount
def test_needs_a_mount():
    require_or_skip("cannot mount a tmpfs here: permission denied", tier="mount")

def test_bare_skip():
    pytest.skip("some other reason")

@pytest.mark.xfail(strict=True, reason="known")
def test_expected_failure():
    assert False

@pytest.mark.web
@pytest.mark.tools
def test_plain():
    pass
"""

INNER_MODULE_SKIP = """
import pytest
pytest.importorskip("lstosa_no_such_module")

def test_never_collected():
    pass
"""

MARKERS = """
[pytest]
markers =
    tools: real tools
    web: nginx/chromium
    mount: mounts
    slurm: cluster
"""


@pytest.fixture
def inner(pytester, monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("LSTOSA_REQUIRE_"):
            monkeypatch.delenv(name)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("LSTOSA_LST_BIN", str(empty))  # no lstchain tools
    monkeypatch.setenv("PATH", str(empty))  # no chromium (the inner pytest starts by absolute path)
    monkeypatch.setenv("COLUMNS", "400")  # the short summary lines whole
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makeini(MARKERS)
    pytester.makepyfile(test_inner=INNER_TESTS, test_module_skip=INNER_MODULE_SKIP)

    def run(*args, **env):
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        result = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider", *args, timeout=300)
        return result, result.stdout.str()
    return run


def marker_row(text: str, name: str) -> dict[str, int]:
    header = next(line for line in text.splitlines() if line.startswith("marker "))
    row = next(line for line in text.splitlines() if line.split()[:1] == [name] or line.startswith(name + " "))
    counts = row[len(name):].split()
    return dict(zip(header.split()[1:], map(int, counts)))


def test_without_switch_missing_components_skip(inner):
    result, text = inner()
    assert result.ret == 0, text
    assert result.parseoutcomes() == {"passed": 1, "skipped": 5, "xfailed": 1}, text
    assert "lstchain tools not installed in" in text and "chromium not installed" in text, text
    assert "cannot mount a tmpfs here" in text and "some other reason" in text, text
    assert "tests per marker" in text, text
    assert marker_row(text, "tools") == {"passed": 1, "failed": 0, "error": 0, "skipped": 1, "xfailed": 0,
                                         "xpassed": 0}, text
    assert marker_row(text, "web") == {"passed": 1, "failed": 0, "error": 0, "skipped": 1, "xfailed": 0,
                                       "xpassed": 0}, text
    assert marker_row(text, "e2e") == marker_row(text, "benchmark") == marker_row(text, "slurm") == dict.fromkeys(("passed", "failed", "error", "skipped", "xfailed",
                                                       "xpassed"), 0), text
    assert marker_row(text, "mount") == {"passed": 0, "failed": 0, "error": 0, "skipped": 1, "xfailed": 0,
                                         "xpassed": 0}, text
    # the bare skip and the xfail carry no marker (a module skip is not a test)
    assert marker_row(text, "(no marker)") == {"passed": 0, "failed": 0, "error": 0, "skipped": 1, "xfailed": 1,
                                               "xpassed": 0}, text


def test_with_switch_missing_components_fail(inner):
    result, text = inner(LSTOSA_REQUIRE_ALL="1")
    # the module-level skip is a collection error: like any, it stops the run before a test runs
    assert result.ret == pytest.ExitCode.INTERRUPTED, text
    assert re.search(r"ERROR test_module_skip.py - skipped under LSTOSA_REQUIRE_ALL=1, where every test must run: "
                     r".*lstosa_no_such_module", text), text
    assert result.parseoutcomes() == {"errors": 1}, text
    result, text = inner("--continue-on-collection-errors")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, text
    # fixtures that fail are errors (here 2 and the collection error)
    assert result.parseoutcomes() == {"passed": 1, "failed": 2, "errors": 3, "xfailed": 1}, text
    assert re.search(r"ERROR .*test_needs_tools - Failed: lstchain tools not installed in .*"
                     r"\[LSTOSA_REQUIRE_ALL=1: a missing component fails", text), text
    assert re.search(r"ERROR .*test_needs_chromium - Failed: chromium not installed", text), text
    assert re.search(r"FAILED .*test_needs_a_mount - Failed: cannot mount a tmpfs here", text), text
    assert re.search(r"FAILED .*test_bare_skip.*skipped under LSTOSA_REQUIRE_ALL=1, where every test must run:"
                     r" some other reason", text), text
    assert marker_row(text, "tools")["error"] == 1 and marker_row(text, "web")["error"] == 1, text
    assert marker_row(text, "mount")["failed"] == 1, text
    assert marker_row(text, "(no marker)") == {"passed": 0, "failed": 1, "error": 0, "skipped": 0, "xfailed": 1,
                                               "xpassed": 0}, text


def test_a_tier_switch_requires_that_tier_only(inner):
    result, text = inner(LSTOSA_REQUIRE_WEB="1")
    assert result.parseoutcomes() == {"passed": 1, "skipped": 4, "errors": 1, "xfailed": 1}, text
    assert re.search(r"ERROR .*test_needs_chromium - Failed: chromium not installed.*LSTOSA_REQUIRE_WEB=1", text), text


def test_tiers_are_the_declared_markers():
    declared = tomllib.loads((TESTS.parent / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    assert sorted(TIERS) == sorted(line.split(":")[0] for line in declared)
