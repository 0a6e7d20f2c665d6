"""Products in LSTOSA's tree, and the links the ecosystem finds them by (docs/layout.md).

LSTOSA keeps a run's merged DL1, its datacheck files and its DL2 in a cleaning directory
(``tailcut84``) and, for DL2, an NSB directory (``nsb_tuning_0.14``) that are known only once the
run's tail cuts are. The runner writes such a product at its LSTOSA path (``--place HANDLE=TEMPLATE``,
the template naming ``{dl1_prod_id}`` and ``{nsb_tuning}``) and leaves a relative link at the
workflow's fixed path (the handle), so that the DAG stays static. Also here: the Cat-A ``pro`` links,
LSTOSA's ``DL1/datacheck_files/<date>/`` links and the latest night-wise datacheck links.

    python -m lstosa_snake.jobs.layout pro-link DIR...
    python -m lstosa_snake.jobs.layout datacheck-links --links-dir D --datacheck F... --muons F...
    python -m lstosa_snake.jobs.layout link HANDLE TARGET
    python -m lstosa_snake.jobs.layout log-link --beside FILE --name NAME TARGET
    python -m lstosa_snake.jobs.layout longterm-links --night-wise-root R --date YYYYMMDD --link-dir D
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

KEYS = ("dl1_prod_id", "nsb_tuning")
#: glob of each directory level in LSTOSA's tree, to find copies of a product left by a rerun
#: whose tail cuts (or NSB level) changed
_LEVEL_GLOB = {"dl1_prod_id": "tailcut*", "nsb_tuning": "nsb_tuning_*"}
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class LayoutError(Exception):
    pass


def layout_values(static: dict[str, str], tailcuts: Path | None = None, from_tailcuts=()) -> dict[str, str]:
    """The directory names of a run: ``static`` ones, and those in ``from_tailcuts`` read from the
    run's tail-cut summary (lstosa_snake.jobs.dl1b: ``dl1_prod_id``, ``nsb_level``)."""
    values = dict(static)
    if from_tailcuts:
        if tailcuts is None:
            raise LayoutError(f"{', '.join(from_tailcuts)} must come from a tail-cut summary, none given")
        try:
            summary = json.loads(Path(tailcuts).read_text())
        except (OSError, ValueError) as exc:
            raise LayoutError(f"tail-cut summary {tailcuts} cannot be read: {exc}") from None
        for key in from_tailcuts:
            if key == "dl1_prod_id":
                values[key] = summary.get("dl1_prod_id")
            elif key == "nsb_tuning":
                level = summary.get("nsb_level")
                values[key] = None if level is None else f"nsb_tuning_{float(level):.2f}"
            else:
                raise LayoutError(f"unknown layout key {key!r} (known: {', '.join(KEYS)})")
            if not values[key]:
                raise LayoutError(f"tail-cut summary {tailcuts} gives no {key}")
    for key, value in values.items():
        if not _SAFE.match(str(value)) or ".." in str(value):
            raise LayoutError(f"{key} {value!r} cannot be a directory name")
    return values


def resolve(template: str, values: dict[str, str]) -> Path:
    try:
        return Path(template.format(**values))
    except KeyError as exc:
        raise LayoutError(f"{template}: no value for {exc}") from None


def stale_copies(template: str, real: Path) -> list[Path]:
    """Copies of the same product under other cleaning/NSB directories of the production."""
    pattern = template.format(**_LEVEL_GLOB)
    anchor = Path(pattern.split("*", 1)[0]).parent if "*" in pattern else None
    if anchor is None:
        return []
    rel = os.path.relpath(pattern, anchor)
    return [p for p in anchor.glob(rel) if p != real and (p.is_file() or p.is_symlink()) and not p.is_dir()]


def link(handle: Path, real: Path) -> None:
    """Atomically make ``handle`` a relative symbolic link to ``real`` (it may be a file or link now)."""
    handle = Path(handle)
    handle.parent.mkdir(parents=True, exist_ok=True)
    tmp = handle.with_name(f".{handle.name}.link-tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(real, handle.parent))
    os.replace(tmp, handle)


def place(handle: Path, template: str, real: Path) -> list[Path]:
    """After ``real`` is in place: link the handle to it and remove the copies a rerun with other tail
    cuts left in another directory (one copy per run and production). Returns the removed copies."""
    removed = []
    for old in stale_copies(template, real):
        old.unlink()
        removed.append(old)
    link(handle, real)
    return removed


# ------------------------------------------------------------------ links for LSTOSA's readers
def pro_link(version_dir: Path) -> Path:
    """``<kind>/<date>/pro -> <version>`` (relative, as lstchain.onsite's create_pro_symlink)."""
    version_dir = Path(version_dir)
    pro = version_dir.parent / "pro"
    if pro.exists() and not pro.is_symlink():
        raise LayoutError(f"{pro} exists and is not a link: not replaced")
    link(pro, version_dir)
    return pro


def datacheck_links(links_dir: Path, datacheck: list[Path], muons: list[Path]) -> list[Path]:
    """LSTOSA's DL1/datacheck_files/<date>/ (create_runwise_datacheck_symlinks, create_muons_symlinks)."""
    made = []
    for files, sub in ((datacheck, Path(links_dir)), (muons, Path(links_dir) / "muons")):
        for f in files:
            target = Path(f).resolve()
            if not target.is_file():
                raise LayoutError(f"{f} does not exist: no link to it")
            out = sub / Path(f).name
            link(out, target)
            made.append(out)
    return made


def latest_version(files: list[Path]) -> Path:
    """The file of the highest production version (vX.Y[.Z] directory above the date)."""
    def key(p: Path):
        version = p.parent.parent.name.lstrip("v")
        return tuple(int(x) if x.isdigit() else -1 for x in re.split(r"[.]", version))
    return max(files, key=key)


def longterm_links(night_wise_root: Path, date: str, link_dir: Path, exts=("h5", "html", "log")) -> list[Path]:
    """DL1/datacheck_files/night_wise/DL1_datacheck_<date>.<ext> -> the latest production's file."""
    made = []
    for ext in exts:
        found = sorted(Path(night_wise_root).glob(f"v*/{date}/DL1_datacheck_{date}.{ext}"))
        if found:
            out = Path(link_dir) / f"DL1_datacheck_{date}.{ext}"
            link(out, latest_version(found))
            made.append(out)
    return made


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pro-link", help="<kind>/<date>/pro -> <version> for each version directory")
    p.add_argument("dirs", nargs="+", type=Path)
    p = sub.add_parser("datacheck-links")
    p.add_argument("--links-dir", required=True, type=Path)
    p.add_argument("--datacheck", nargs="*", type=Path, default=[])
    p.add_argument("--muons", nargs="*", type=Path, default=[])
    p.add_argument("--done", type=Path, help="file listing the links made (the rule's output)")
    p = sub.add_parser("link", help="HANDLE -> TARGET, a relative link (replaced atomically)")
    p.add_argument("handle", type=Path)
    p.add_argument("target", type=Path)
    p = sub.add_parser("log-link", help="a link NAME -> TARGET in the log/ directory beside where FILE really is"
                                         " (LSTOSA's PROV files in DL2/<date>/<prod_id>/<tc>/<nsb>/log/)")
    p.add_argument("--beside", required=True, type=Path)
    p.add_argument("--name", required=True)
    p.add_argument("target", type=Path)
    p = sub.add_parser("longterm-links")
    p.add_argument("--night-wise-root", required=True, type=Path)
    p.add_argument("--date", required=True)
    p.add_argument("--link-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "pro-link":
            for d in args.dirs:
                pro_link(d)
        elif args.cmd == "datacheck-links":
            made = datacheck_links(args.links_dir, args.datacheck, args.muons)
            if args.done:
                tmp = args.done.with_name(f".{args.done.name}.tmp")
                tmp.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_text("".join(f"{m}\n" for m in made))
                os.replace(tmp, args.done)
        elif args.cmd == "link":
            link(args.handle, args.target)
        elif args.cmd == "log-link":
            link(Path(os.path.realpath(args.beside)).parent / "log" / args.name, args.target)
        else:
            longterm_links(args.night_wise_root, args.date, args.link_dir)
    except (LayoutError, OSError) as exc:
        print(f"lstosa_snake.jobs.layout: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
