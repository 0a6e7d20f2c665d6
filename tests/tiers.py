"""Test tiers that must not pass by accident (a pytest plugin, registered from tests/conftest.py).

* ``require_or_skip(reason, tier)``: what every fixture calls when a component of a tier is missing
  (the SLURM cluster, the lstchain tools, nginx/chromium, a mount). Without a switch the test skips;
  with ``LSTOSA_REQUIRE_ALL=1`` (set by scripts/test.sh, i.e. under CI) or the tier's own
  ``LSTOSA_REQUIRE_<TIER>=1`` (e.g. ``LSTOSA_REQUIRE_WEB``) it fails with the reason.
* Safety net: under ``LSTOSA_REQUIRE_ALL=1`` any other skip (a bare ``pytest.skip``, an
  ``importorskip``, a skipped module) is reported as a failure too; xfail stays xfail.
* At the end of the run, a table of how many tests of each marker passed, failed, skipped...,
  so that a CI log shows that every tier really ran.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from typing import NoReturn

import pytest

REQUIRE_ALL = "LSTOSA_REQUIRE_ALL"
_PROP = "lstosa_markers"  # the test's markers, carried in user_properties (they cross xdist workers)
_OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
_NO_MARKER = "(no marker)"  # none of the tiers: the fast tests


def _on(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def required(tier: str | None = None) -> bool:
    """True if a missing component of TIER (or of any tier) must fail the test instead of skipping it."""
    return _on(REQUIRE_ALL) or (tier is not None and _on(f"LSTOSA_REQUIRE_{tier.upper()}"))


def require_or_skip(reason: str, tier: str | None = None) -> NoReturn:
    """Skip with REASON, or fail with it when the tier is required (see the module docstring)."""
    if required(tier):
        switch = REQUIRE_ALL if _on(REQUIRE_ALL) else f"LSTOSA_REQUIRE_{(tier or '').upper()}"
        pytest.fail(f"{reason} [{switch}=1: a missing component fails the test instead of skipping it]",
                    pytrace=False)
    pytest.skip(reason)


def _skip_reason(report) -> str:
    lr = report.longrepr
    reason = lr[2] if isinstance(lr, tuple) and len(lr) == 3 else str(lr)
    return reason.removeprefix("Skipped: ")


def _fail_skip(report) -> None:
    report.outcome = "failed"
    report.longrepr = (f"skipped under {REQUIRE_ALL}=1, where every test must run: {_skip_reason(report)}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and _on(REQUIRE_ALL):
        _fail_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    if report.skipped and _on(REQUIRE_ALL):  # a module-level skip or importorskip
        _fail_skip(report)
    return report


# --------------------------------------------------------------------------- tests per marker


#: the project's markers, i.e. its tiers (pyproject.toml; tests/test_tiers.py keeps the two the same)
TIERS = ("tools", "e2e", "slurm", "web", "mount", "benchmark")


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = sorted({m.name for m in item.iter_markers()} & set(TIERS))
        item.user_properties.append((_PROP, names))


class _MarkerTally:
    def __init__(self):
        self.markers: dict[str, list[str]] = {}
        self.outcome: dict[str, str] = {}

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report):
        for key, value in report.user_properties:
            if key == _PROP:
                self.markers[report.nodeid] = list(value)
        previous = self.outcome.get(report.nodeid)
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        elif report.failed:
            outcome = "failed" if report.when == "call" else "error"
        elif report.skipped:
            outcome = "skipped"
        elif report.when == "call":
            outcome = "passed"
        else:
            return  # a passing setup or teardown says nothing yet
        if previous in ("failed", "error"):
            return  # an error in teardown after a failure: the failure counts
        self.outcome[report.nodeid] = outcome

    def table(self) -> list[str]:
        counts: dict[str, Counter] = defaultdict(Counter)
        for nodeid, outcome in self.outcome.items():
            for name in self.markers.get(nodeid) or [_NO_MARKER]:
                counts[name][outcome] += 1
        rows = [*TIERS, _NO_MARKER]
        width = max(len(r) for r in rows)
        lines = [f"{'marker':<{width}} " + " ".join(f"{o:>7}" for o in _OUTCOMES)]
        for name in rows:
            lines.append(f"{name:<{width}} " + " ".join(f"{counts[name][o]:>7}" for o in _OUTCOMES))
        return lines

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter):
        if not self.outcome:
            return
        terminalreporter.write_sep("=", "tests per marker (a test with two markers counts in both)")
        for line in self.table():
            terminalreporter.write_line(line)


def pytest_configure(config):
    # registered as a plugin object: on the xdist controller the reports of all workers arrive here
    config.pluginmanager.register(_MarkerTally(), "lstosa_marker_tally")
