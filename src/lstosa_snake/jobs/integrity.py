"""Is a closed night still whole? The product manifest written when the night closes, and its check.

When ``close_night`` has written the night report, it records every product of the night in
``running_analysis/<date>/<prod>/closed_products.json`` (name relative to ``output_root``, size,
mtime): the files directly in DL1/<date>/<prod>/ and its muons/, interleaved/ and datacheck/
directories, in DL2/<date>/<prod>/ and the night-wise datacheck directory. Not the night report:
it is an output of ``close_night`` itself, whose mtime Snakemake sets after the job (and a missing
report is a missing target, which Snakemake sees by itself).
Sizes and mtimes, not checksums: a night holds terabytes, and a product is only ever replaced by
renaming a new file over it, which changes its mtime. Files written after the close (plots, the
web page) are not in the manifest.

``closed_night_problems(paths)`` compares the disk with the manifest: a product missing or
changed since closing is a problem (``lstosa-nightly`` refuses to call such a night closed, and
``lstosa-nightly --repair`` rebuilds exactly those files). Cost: one directory listing per product
directory, no per-file ``stat`` beyond what the listing returns.

    python -m lstosa_snake.jobs.integrity write --base B --config-json '{...}'   (the close_night rule)
    python -m lstosa_snake.jobs.integrity check --base B --config-json '{"date": ..., "data_root": ...}' 
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from lstosa_snake.core.atomic import write_json
from lstosa_snake.night.paths import NightPaths
from lstosa_snake.night.plan import night_paths

MANIFEST_NAME = "closed_products.json"
#: product sub-directories of DL1/<date>/<prod>/ (datacheck/plots/ is made after the close)
DL1_SUBDIRS = ("", "muons", "interleaved", "datacheck")
_SECOND = 1_000_000_000


def manifest_path(paths: NightPaths) -> Path:
    return paths.running_dir / MANIFEST_NAME


def product_dirs(paths: NightPaths) -> list[Path]:
    return [paths.dl1_dir / sub if sub else paths.dl1_dir for sub in DL1_SUBDIRS] + [
        paths.dl2_dir, paths.night_datacheck.parent]


def _files(directory: Path) -> dict[str, os.stat_result]:
    """Regular files directly in ``directory`` (no hidden files: temporary ones start with '.')."""
    try:
        with os.scandir(directory) as it:
            return {e.name: e.stat() for e in it if not e.name.startswith(".") and e.is_file()}
    except (FileNotFoundError, NotADirectoryError):
        return {}


def collect(paths: NightPaths) -> dict[str, list[int]]:
    """{name relative to output_root: [size, mtime_ns]} of the night's products now on disk."""
    root = paths.output_root
    out: dict[str, list[int]] = {}
    for d in product_dirs(paths):
        for name, st in _files(d).items():
            out[str((d / name).relative_to(root))] = [st.st_size, st.st_mtime_ns]
    return dict(sorted(out.items()))


def write_manifest(paths: NightPaths) -> Path:
    """Record the night's products (atomically: a reader never sees half a manifest)."""
    data = {"night": str(paths.night), "prod_id": paths.prod_id,
            "written": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "files": collect(paths)}
    return write_json(manifest_path(paths), data)


def read_manifest(paths: NightPaths) -> dict | None:
    """The manifest, None when there is none; raises ValueError when it is unreadable."""
    try:
        data = json.loads(manifest_path(paths).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{manifest_path(paths)} cannot be read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ValueError(f"{manifest_path(paths)} is not a product manifest")
    return data


def same_mtime(a: int, b: int) -> bool:
    """Equal mtimes; to the second when one of them has no sub-second part (a copy by cp -p or
    rsync to a file system with coarser timestamps keeps the file's mtime only to the second)."""
    if a % _SECOND == 0 or b % _SECOND == 0:
        return a // _SECOND == b // _SECOND
    return a == b


def damaged_products(paths: NightPaths) -> tuple[list[Path], list[Path]]:
    """(missing, changed) products of a closed night, by the manifest; both empty when there is none."""
    try:
        manifest = read_manifest(paths)
    except ValueError:
        return [], []
    if manifest is None:
        return [], []
    root = paths.output_root
    listings: dict[Path, dict[str, os.stat_result]] = {}
    missing, changed = [], []
    for rel, (size, mtime_ns) in sorted(manifest["files"].items()):
        path = root / rel
        if path.parent not in listings:
            listings[path.parent] = _files(path.parent)
        st = listings[path.parent].get(path.name)
        if st is None:
            missing.append(path)
        elif st.st_size != size or not same_mtime(st.st_mtime_ns, mtime_ns):
            changed.append(path)
    return missing, changed


def describe(path: Path) -> str:
    """'merged DL1 dl1_LST-1.Run01874.h5' and the like, for the operator."""
    name = path.name
    merged = ".Run" in name and name.count(".") == 2  # dl1_LST-1.Run01874.h5: no sub-run number
    kinds = (("dl1_", "DL1"), ("dl2_", "DL2"), ("muons_", "muons"), ("interleaved_", "interleaved"),
             ("datacheck_", "datacheck"), ("DL1_datacheck_", "night datacheck"), ("night_report", "night report"))
    for prefix, kind in kinds:
        if name.startswith(prefix):
            if kind in ("night datacheck", "night report"):
                return f"{kind} {name}"
            return f"{'merged ' if merged else 'sub-run '}{kind} {name}"
    return name


def closed_night_problems(paths: NightPaths, limit: int | None = None) -> list[str]:
    """Human-readable problems of a closed night: products missing or changed since it was closed.

    Empty when the night is not closed (no NightFinished.txt), when it is intact, or when it was
    closed before manifests were written (nothing to compare with). ``limit`` caps the list; the
    last line then says how many more there are.
    """
    if not paths.night_finished.exists():
        return []
    try:
        read_manifest(paths)
    except ValueError as exc:
        return [f"product manifest: {exc}"]
    missing, changed = damaged_products(paths)
    problems = [f"{describe(p)} is missing ({p.parent})" for p in missing]
    problems += [f"{describe(p)} changed since closing ({p.parent})" for p in changed]
    if limit is not None and len(problems) > limit:
        problems = problems[:limit] + [f"... and {len(problems) - limit} more missing or changed products"]
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lstosa_snake.jobs.integrity", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("write", "check"))
    parser.add_argument("--base", required=True, help="project directory (relative config paths)")
    parser.add_argument("--config-json", required=True, help="the night's config keys as JSON (date, roots, ids)")
    args = parser.parse_args(argv)
    paths = night_paths(json.loads(args.config_json), Path(args.base))
    if args.action == "write":
        print(f"product manifest: {write_manifest(paths)} ({len(collect(paths))} files)")
        return 0
    problems = closed_night_problems(paths)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
