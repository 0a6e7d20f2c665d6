"""Nights side by side: several lstosa-nightly of different nights started in the same second, from one
installation, do not disturb one another (issue 23): each night's Snakemake keeps its state in the night's own
directory (<project>/.snakemake-nights/..., src/lstosa_snake/ops/smkrun.py), so no lock is shared, taken over or removed by another night.

The workflow runs for real (Snakefile, runner, profile) with the FAKE lstchain tools (tests/fake_tools.py),
each night with its own tools directory, so that the tool calls are counted per night.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import time
from pathlib import Path

from fake_tools import PROJECT, cron_env, make_tools_bin, make_toy_night, run_with_timeout, toy_config_args

NIGHTLY = PROJECT / "scripts" / "lstosa-nightly"
#: a long night (its r0_to_dl1 sleep) and a short one, so that the short one ends while the long one runs
NIGHTS = {dt.date(2020, 1, 27): {1874: 4, 1875: 2}, dt.date(2020, 1, 28): {1880: 2}}
LONG, SHORT = sorted(NIGHTS)
PRODUCT_DIRS = ("DL1", "DL2", "monitoring/PixelCalibration")
ROUNDS = 2


def make_site(root: Path) -> dict:
    """One data tree holding both nights; per night its fake tools and lstosa-nightly arguments."""
    data = root / "data"
    site = {"data": data, "nights": {}}
    for night, runs in NIGHTS.items():
        make_toy_night(data, night, runs)
        tools = make_tools_bin(root / f"tools_{night:%Y%m%d}")
        args = ["--date", night.isoformat(), "--data-root", str(data), "--cores", "2"]
        for item in toy_config_args(root, tools):
            args += ["--config", item]
        site["nights"][night] = {"tools": tools, "args": args}
    (site["nights"][LONG]["tools"] / "SLEEP").write_text("lstchain_data_r0_to_dl1 8\n")
    return site


def products(data: Path, night: dt.date) -> dict[str, str]:
    """sha256 of every product file of the night (below its date directories), by path relative to the tree.
    The plots' manifests name their inputs by path: hashed with the tree's root taken out. The provenance
    documents record when and where each job ran, so they differ between any two runs: left out."""
    out = {}
    for top in PRODUCT_DIRS:
        for p in sorted((data / top).rglob("*")):
            rel = p.relative_to(data)
            if (not p.is_file() or f"{night:%Y%m%d}" not in rel.parts or "provenance" in rel.parts
                    or p.name.endswith("_prov.json")):  # the same documents, linked under LSTOSA's name
                continue
            content = p.read_bytes()
            if p.name == "plots.json":
                content = content.replace(str(data).encode(), b"<data_root>")
            out[str(rel)] = hashlib.sha256(content).hexdigest()
    return out


def tool_calls(tools: Path) -> list[str]:
    return sorted((tools / "CALLS").read_text().splitlines()) if (tools / "CALLS").exists() else []


def snakemake_locks(data: Path, night: dt.date) -> list[Path]:
    """Snakemake lock files naming this night's products, in the project's .snakemake or any night's."""
    dirs = [PROJECT / ".snakemake" / "locks", *PROJECT.glob(".snakemake-nights/*/.snakemake/locks")]
    mark = f"{data}/DL1/{night:%Y%m%d}/"
    found = []
    for f in (f for d in dirs for f in d.glob("*.output.lock")):
        try:
            if mark in f.read_text():
                found.append(f)
        except FileNotFoundError:  # removed meanwhile
            continue
    return found


def test_nights_side_by_side_match_each_night_alone(tmp_path):
    alone = make_site(tmp_path / "alone")
    expected, calls = {}, {}
    for night, n in alone["nights"].items():
        res = run_with_timeout([str(NIGHTLY), *n["args"]], 300, cwd="/", env=cron_env())
        assert res.returncode == 0 and "CLOSED" in res.stdout, res.stdout
        expected[night] = products(alone["data"], night)
        calls[night] = tool_calls(n["tools"])
        assert expected[night] and calls[night]
    # 6 sub-runs + 2 runs merged, in LSTOSA's tailcut84/ and linked from the workflow's fixed paths
    assert len([p for p in expected[LONG] if "/dl1_LST-1.Run" in p]) == 4 + 2 + 2 + 2

    for k in range(ROUNDS):
        site = make_site(tmp_path / f"round{k}")
        procs = {night: subprocess.Popen([str(NIGHTLY), *n["args"]], cwd="/", env=cron_env(), text=True,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
                 for night, n in site["nights"].items()}  # started within the same second
        try:
            out_short, _ = procs[SHORT].communicate(timeout=300)
            assert procs[SHORT].returncode == 0 and "CLOSED" in out_short, out_short
            # the short night's Snakemake has ended; the long night's is still running jobs, and its lock
            # is still there (a shared .snakemake would have lost it: Snakemake removes its lock directory)
            assert procs[LONG].poll() is None, "the long night ended first: lengthen its SLEEP"
            deadline = time.monotonic() + 30
            while not snakemake_locks(site["data"], LONG) and procs[LONG].poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.2)
            locks = snakemake_locks(site["data"], LONG)
            still_running = procs[LONG].poll() is None
            out_long, _ = procs[LONG].communicate(timeout=300)
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.kill()
        assert still_running and locks, f"round {k}: the long night's Snakemake lock was lost while it ran"
        assert all("/.snakemake-nights/" in str(f) for f in locks), locks
        assert procs[LONG].returncode == 0 and "CLOSED" in out_long, out_long
        for night, n in site["nights"].items():
            # the same products, byte for byte, as the night processed alone; every tool call made once
            assert products(site["data"], night) == expected[night], (k, night)
            assert tool_calls(n["tools"]) == [c.replace(str(alone["data"]), str(site["data"]))
                                              for c in calls[night]], (k, night)
            assert not snakemake_locks(site["data"], night), (k, night)
