"""Move nights processed with the old product layout into LSTOSA's tree (issue 22, lstosa_snake.night.paths).

    lstosa-migrate-layout --output-root DIR [--date YYYY-MM-DD ...] [--prod-id P] [--lstchain-config FILE] [--dry-run]

In each DL1/<date>/<prod_id>/ (runs read from the file names), the merged DL1, datacheck and merged DL2
files move to their LSTOSA path (cleaning and NSB directories from the run's tail-cut summary, else the
standard cleaning and nsb_tuning_0.00), a relative link left at the old path; then what the workflow
now makes: OSA/Closer/ flag, DL1/datacheck_files/ links, auxiliary/TailCuts/, night-wise and Cat-A pro links.
Nothing is overwritten or deleted; a repeat does nothing more. A file gets a hard link at its LSTOSA path
(failing if taken; os.replace where hard links are refused) before its old name becomes a link. A real
file at both paths is a conflict, left as it is. Links already there are kept.

One line per action (move+link, link, copy; skip: already done; conflict, error), then a summary.
Exit codes: 0 done or nothing to do, 1 a conflict or error (the rest is done), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import errno
import functools
import json
import os
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lstosa_snake.core.errors import LstosaError
from lstosa_snake.jobs import layout
from lstosa_snake.jobs.dl1b import dl1_prod_id, standard_dl1_prod_id
from lstosa_snake.night.dates import compact, parse_night_date
from lstosa_snake.night.opsconfig import project_dir
from lstosa_snake.night.paths import NightPaths, check_id

CATA_KINDS = ("drs4_baseline", "calibration", "drs4_time_sampling_from_FF")
_DATE = re.compile(r"^\d{8}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")  # check_id
_NAME = re.compile(r"^(dl1|datacheck_dl1|dl2)_LST-1\.Run(\d{5})(?:\.(\d{4}))?\.(h5|pdf)$")
_NO_HARD_LINK = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK}


class MigrationError(LstosaError):
    """A file cannot be moved or linked (the message names it)."""


@dataclass(frozen=True)
class Action:
    """source -> destination: a file moved (then a link to it), a link and its target, a copy."""
    action: str
    source: Path | None
    destination: Path
    note: str = ""
    final: Path | None = None  # where a product's content is once done (datacheck links point there)

    def line(self, root: Path) -> str:
        src = "" if self.source is None else f"{os.path.relpath(self.source, root)} -> "
        return f"{self.action:9} {src}{os.path.relpath(self.destination, root)}" + (f"  ({self.note})" if self.note else "")


def _version_key(name: str):
    return tuple(int(x) if x.isdigit() else -1 for x in name.lstrip("v").split("."))


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def discover(root: Path, dates=(), prod_id: str | None = None) -> dict[str, list[str]]:
    """{YYYYMMDD: production ids, latest version first} of DL1/<date>/<prod_id>/."""
    nights: dict[str, list[str]] = {}
    wanted = {compact(parse_night_date(d)) for d in dates}
    for day in sorted((root / "DL1").glob("*")):
        if _DATE.match(day.name) and day.is_dir() and (not wanted or day.name in wanted):
            prods = [p.name for p in day.iterdir() if p.is_dir() and _ID.match(p.name) and ".." not in p.name and prod_id in (None, p.name)]
            if prods:
                nights[day.name] = sorted(prods, key=_version_key, reverse=True)
    return nights


def _key(name: str) -> tuple | None:
    """(kind, run, subrun, ext) of a run-wise product's file name (sub-run datacheck h5 included)."""
    m = _NAME.match(name)
    if not m or (m[3] is not None and m[1] != "datacheck_dl1") or (m[4] == "pdf" and (m[1] != "datacheck_dl1" or m[3])):
        return None
    return m[1], int(m[2]), None if m[3] is None else int(m[3]), m[4]


def products(paths: NightPaths) -> list[tuple]:
    """The run-wise products found at their old or at an LSTOSA path."""
    dirs = [paths.dl1_dir, paths.dl1_dir / "datacheck", paths.dl2_dir, *paths.dl1_dir.glob("tailcut*"),
            *paths.dl1_dir.glob("tailcut*/datacheck"), *paths.dl2_dir.glob("tailcut*/nsb_tuning_*")]
    keys = {k for d in dirs if d.is_dir() for name in os.listdir(d) if (k := _key(name))}
    return sorted(keys, key=lambda k: (k[1], k[0], -1 if k[2] is None else k[2], k[3]))


def old_and_new(paths: NightPaths, key: tuple, tc: str, nsb: str) -> tuple[Path, Path]:
    """The old path of a product (NightPaths.dl1_run ...) and its LSTOSA path (lstosa_dl1_run ...)."""
    kind, run, subrun, ext = key
    method = {"dl1": "dl1_run", "dl2": "dl2_run"}.get(kind) or (
        "datacheck_subrun" if subrun is not None else "datacheck_run_pdf" if ext == "pdf" else "datacheck_run")
    ids, levels = (run,) if subrun is None else (run, subrun), (tc, nsb) if kind == "dl2" else (tc,)
    return getattr(paths, method)(*ids), getattr(paths, f"lstosa_{method}")(*ids, *levels)


def run_levels(paths: NightPaths, run: int, standard) -> tuple[dict | None, str, str]:
    """(tail-cut summary, dl1_prod_id, nsb_tuning) of a run: from its summary, else the standard ones."""
    summary = None
    if paths.tailcuts_summary(run).exists():
        summary = json.loads(paths.tailcuts_summary(run).read_text())
    s = summary if isinstance(summary, dict) else {}
    tc = s.get("dl1_prod_id")
    if not tc and s.get("picture_thresh") is not None and s.get("boundary_thresh") is not None:
        tc = dl1_prod_id(int(s["picture_thresh"]), int(s["boundary_thresh"]))
    # as the workflow: the NSB level names the directory only when the models were chosen by it
    by_level = getattr(standard, "nsb_from_summary", False) and s.get("nsb_level") is not None
    nsb = f"nsb_tuning_{float(s['nsb_level']):.2f}" if by_level else "nsb_tuning_0.00"
    return summary, check_id(tc or standard(), "dl1_prod_id"), check_id(nsb, "nsb_tuning")


def plan_product(old: Path, new: Path) -> Action | None:
    """The old path's product into the LSTOSA path; None when neither exists."""
    new_real = new.is_file() and not new.is_symlink()
    if old.is_symlink():
        if old.exists():
            return Action("skip", old, _real(old), "already a link", final=_real(old))
        if new_real:
            return Action("link", old, new, "dangling link redone", final=new)
        return Action("error", None, old, f"dangling link to {os.readlink(old)}")
    if not os.path.lexists(old):
        return Action("link", old, new, "link missing", final=new) if new_real else None
    if not old.is_file():
        return Action("error", None, old, "not a regular file")
    if not os.path.lexists(new):
        return Action("move+link", old, new, final=new)
    if new_real and os.path.samefile(old, new):
        return Action("link", old, new, "same file (hard link)", final=new)
    return Action("conflict", old, new, "both exist, neither is changed: compare them, keep one")


def plan_link(dest: Path, target: Path, claimed: set, replace: bool = False) -> Action:
    """A link to ``target``. One already there is kept (``replace``: redone when it points elsewhere),
    a real file is never replaced; a destination is planned once (the latest production first)."""
    if dest in claimed:
        return Action("skip", dest, target, "linked for another production")
    claimed.add(dest)
    if dest.is_symlink():
        if dest.exists() and not (replace and _real(dest) != _real(target)):
            return Action("skip", dest, target, "link exists")
        return Action("link", dest, target, "link redone")
    if os.path.lexists(dest):
        return Action("skip", dest, target, "not a link: left alone")
    return Action("link", dest, target)


def plan_run(paths: NightPaths, run: int, keys: list, standard, claimed: set) -> list[Action]:
    try:
        summary, tc, nsb = run_levels(paths, run, standard)
    except (OSError, ValueError, TypeError, LstosaError) as exc:
        return [Action("error", None, paths.tailcuts_summary(run), f"run {run:05d} not migrated: {exc}")]
    actions = [a for key in keys if (a := plan_product(*old_and_new(paths, key, tc, nsb)))]
    config = paths.dl1ab_config(run)
    # as the workflow: the run's cleaning (unless apply_standard_dl1b_config) for LSTOSA's readers
    if isinstance(summary, dict) and config.is_file() and "apply_standard_dl1b_config" not in str(summary.get("reason")):
        actions.append(plan_link(paths.lstosa_tailcuts_config(run), config, claimed))
    return actions


def plan_production(paths: NightPaths, standard, claimed: set) -> list[Action]:
    keys = products(paths)
    summaries = paths.dl1_dir.glob("tailcuts/tailcuts_Run?????.json")
    actions = []
    for run in sorted({k[1] for k in keys} | {int(p.stem[-5:]) for p in summaries}):
        actions += plan_run(paths, run, [k for k in keys if k[1] == run], standard, claimed)
    old, new = paths.night_finished, paths.lstosa_night_finished
    if os.path.lexists(new) or old.is_file():
        actions.append(Action("skip", old, new, "flag exists") if os.path.lexists(new) else Action("copy", old, new))
    checks = [a.final for a in actions if a.final is not None and a.final.name.startswith("datacheck_dl1_")]
    muons = [_real(m) for m in sorted(paths.dl1_dir.glob("muons/muons_LST-1.Run*.fits")) if m.is_file()]
    for files, sub in ((checks, paths.datacheck_links_dir), (muons, paths.datacheck_links_dir / "muons")):
        actions += [plan_link(sub / f.name, f, claimed) for f in files]
    return actions


def plan_date(root: Path, date: str, prods: list[str], standard, claimed: set) -> list[Action]:
    night = parse_night_date(date)
    actions = [a for prod in prods for a in plan_production(NightPaths(root, root, night, prod, "none"), standard, claimed)]
    some = NightPaths(root, root, night, "none", "none")
    for ext in ("h5", "html", "log"):
        found = sorted(some.longterm_link(ext).parent.glob(f"v*/{date}/DL1_datacheck_{date}.{ext}"))
        if found:
            actions.append(plan_link(some.longterm_link(ext), layout.latest_version(found), claimed, replace=True))
    return actions


def plan_pro_links(root: Path, dates=()) -> list[Action]:
    """Cat-A/<kind>/<date>/pro -> the latest version directory, where there is no pro yet."""
    base = root / "monitoring" / "PixelCalibration" / "Cat-A"
    days = {compact(parse_night_date(d)) for d in dates} or {
        d.name for kind in CATA_KINDS for d in (base / kind).glob("*") if _DATE.match(d.name)}
    actions = []
    for date in sorted(days):
        for kind in CATA_KINDS:
            pro = NightPaths(root, root, parse_night_date(date), "none", "none").catA_pro_link(kind)
            versions = [v for v in pro.parent.glob("*") if v.is_dir() and not v.is_symlink() and v.name != "pro"]
            if versions:
                actions.append(plan_link(pro, max(versions, key=lambda v: _version_key(v.name)), set()))
    return actions


@functools.cache
def standard_cleaning(config: Path) -> str:
    try:
        return standard_dl1_prod_id(config)
    except (OSError, ValueError) as exc:
        raise MigrationError(f"no standard cleaning (give --lstchain-config): {exc}") from None


def plan(root: Path, dates=(), prod_id: str | None = None, lstchain_config: Path | None = None,
         models_by_nsb: bool = False) -> list[Action]:
    """Every action, in the order they are done (products before the links to them)."""
    config = Path(lstchain_config or project_dir() / "config" / "lstchain" / "lstchain_config.json")
    standard = functools.partial(standard_cleaning, config)
    standard.nsb_from_summary = models_by_nsb  # read by run_levels
    root, claimed = Path(root), set()
    nights = discover(root, dates, prod_id)
    actions = [Action("skip", None, root / "DL1" / d, "no production found") for d in sorted({compact(parse_night_date(x)) for x in dates} - set(nights))]
    for date, prods in nights.items():
        actions += plan_date(root, date, prods, standard, claimed)
    return actions + plan_pro_links(root, dates)


def make_link(dest: Path, target: Path) -> None:
    """layout.link, never over a real file (but a hard link of the target); with the target's mtime."""
    if not target.exists():
        raise MigrationError(f"{target} does not exist: no link to it")
    if os.path.lexists(dest) and not dest.is_symlink() and not os.path.samefile(dest, target):
        raise MigrationError(f"{dest} exists and is not a link: not replaced")
    layout.link(dest, target)
    if os.utime in os.supports_follow_symlinks:
        st = os.stat(target)
        os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def move_and_link(old: Path, new: Path) -> None:
    new.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(old, new)  # fails if ``new`` exists: never overwrites
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINK or os.path.lexists(new):
            raise
        os.replace(old, new)
    make_link(old, new)


def copy_file(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.migrate-tmp")
    shutil.copy2(src, tmp)
    os.link(tmp, dest)  # fails if ``dest`` appeared meanwhile
    tmp.unlink()


def apply(action: Action) -> Action:
    """Do one action; a failure becomes an ``error`` action naming the file."""
    src, dest = action.source, action.destination
    try:
        {"move+link": lambda: move_and_link(src, dest), "link": lambda: make_link(src, dest),
         "copy": lambda: copy_file(src, dest)}.get(action.action, lambda: None)()
    except (OSError, LstosaError, layout.LayoutError) as exc:
        return Action("error", action.source, action.destination, f"{action.action} failed: {exc}")
    return action


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lstosa-migrate-layout", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-root", required=True, type=Path, help="the tree holding DL1/, DL2/ ...")
    parser.add_argument("--date", action="append", default=[], help="only this night (repeatable)")
    parser.add_argument("--prod-id", help="only this production")
    parser.add_argument("--lstchain-config", type=Path, help="its cleaning names the directory of runs without tail-cut summary (default: the project's)")
    parser.add_argument("--models-by-nsb", action="store_true",
                        help="the productions' models_dir had nsb_tuning_X.XX directories: DL2 goes to the NSB level of"
                             " each run's tail-cut summary (default: nsb_tuning_0.00, models without NSB tuning)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    args = parser.parse_args(argv)
    root = args.output_root.resolve()  # lines name files relative to it
    try:
        actions = plan(root, args.date, args.prod_id, args.lstchain_config, args.models_by_nsb)
    except (LstosaError, OSError) as exc:
        print(f"lstosa-migrate-layout: ERROR: {exc}", file=sys.stderr)
        return 2
    counts: Counter = Counter()
    for action in actions:
        done = action if args.dry_run else apply(action)
        counts[done.action] += 1
        print(done.line(root), file=sys.stderr if done.action in ("conflict", "error") else sys.stdout)
    print(("dry run (nothing changed): would do " if args.dry_run else "done: ")
          + ", ".join(f"{counts[k]} {k}" for k in ("move+link", "link", "copy", "skip", "conflict", "error")))
    return 1 if counts["conflict"] or counts["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
