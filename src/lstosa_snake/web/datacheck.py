"""The night's datacheck web directory: night page, plots, PDFs, and the index of all nights.

``python -m lstosa_snake.web.datacheck night ...`` is the ``night_page`` rule's command. It
builds the page from the workflow's own state, never from printed output:

* :func:`lstosa_snake.status.overview.night_status` (plan + products on disk + failure markers) for the
  sequence table and the problems;
* the ``plots.json`` manifests written by :mod:`lstosa_snake.web.plots` (file, caption, error);
* lstchain's per-run datacheck PDFs, the night-wise datacheck HTML and the night report JSON;
* the last publication's status file (a failed upload is listed under problems).

Layout (``<output_root>/datacheck_web/<prod_id>/``)::

    index.html                          all nights of the production, newest first
    <YYYYMMDD>/index.html               the night page
    <YYYYMMDD>/night.json               the data the page was made from (read by the index)
    <YYYYMMDD>/plots/<dir>/<name>.png   copies of the plots (<dir>: Run01874, calibration_Run01873)
    <YYYYMMDD>/pdf/<name>.pdf           copies of lstchain's datacheck PDFs
    <YYYYMMDD>/<other links>            night report JSON, night-wise datacheck HTML

Files are copied atomically (temporary file + rename); files of the night directory that are
no longer produced are removed, so the published directory is exactly the night's current state.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from lstosa_snake.core import atomic
from lstosa_snake.core.errors import LstosaError
from lstosa_snake.night.plan import night_paths
from lstosa_snake.status.overview import night_status

from .page import night_dirname, render_index, render_night_page

NIGHT_JSON = "night.json"
#: status of the last publication of the night, next to the night's logs (see publish.smk)
PUBLISH_STATUS = "publish_datacheck.json"
PUBLISH_PROBLEM = "publishing the datacheck"


def run_plots_dir(plots_dir: Path, run) -> Path:
    return Path(plots_dir) / f"Run{int(run):05d}"


def calibration_plots_dir(plots_dir: Path, run) -> Path:
    return Path(plots_dir) / f"calibration_Run{int(run):05d}"


def plot_manifest_paths(plan, plots_dir: Path) -> list[str]:
    """plots.json of every run of the plan and of every calibration made tonight."""
    files = [str(run_plots_dir(plots_dir, r) / "plots.json") for r in plan.runs]
    files += [str(calibration_plots_dir(plots_dir, c) / "plots.json") for c in plan.calibrations_tonight]
    return files


def publish_retry_token(status_file: Path) -> str:
    """'' unless the last publication failed, then 'failed <time>'.

    A parameter of the publish rule: after a failure its value changes, and Snakemake runs the
    job again at the next invocation (rerun trigger "params")."""
    try:
        status = json.loads(Path(status_file).read_text())
    except (OSError, ValueError):
        return ""
    return f"failed {status.get('time')}" if status.get("state") == "failed" else ""


def read_publish_status(path: Path | None) -> dict | None:
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def publish_problem(status: dict | None) -> str | None:
    """One line for the night's problems when the last publication failed, else None."""
    if not status or status.get("state") != "failed":
        return None
    return f"{PUBLISH_PROBLEM} to {status.get('url', '?')} failed ({status.get('time', '?')}): {status.get('error', '?')}"


def build_night_dir(config: dict, base: Path, web_root: Path, plot_manifests: list[Path], pdfs: list[Path],
                    links: list[tuple[Path, str]] = (), publish_status: Path | None = None) -> Path:
    """Copy plots, PDFs and links into ``web_root/<YYYYMMDD>/`` and render its page and the index.

    Returns the night page's path.
    """
    night = night_status(config, Path(base))
    _add_dl1b(night, config, Path(base))
    night["live"] = live_runs(night_paths(config, Path(base)).running_dir / "follow" / "state.json")
    night_dir = Path(web_root) / night_dirname(night["date"])
    keep: set[str] = {"index.html", NIGHT_JSON}
    plots = []
    for manifest_path in plot_manifests:
        manifest_path = Path(manifest_path)
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as exc:
            night["problems"].append(f"plots {manifest_path}: cannot be read ({type(exc).__name__})")
            continue
        sub = manifest_path.parent.name
        run = manifest.get("run") if manifest.get("kind") == "run" else None
        for p in manifest.get("plots", []):
            src = manifest_path.parent / p["file"]
            rel = f"plots/{sub}/{p['file']}"
            if not src.is_file():
                night["problems"].append(f"plot {src} listed in {manifest_path.name} is missing")
                continue
            atomic.copy_file(src, night_dir / rel)
            keep.add(rel)
            plots.append({"path": rel, "caption": p.get("caption") or p.get("title") or p["file"], "run": run})
            if p.get("error"):
                night["problems"].append(p.get("caption") or f"{manifest.get('label')}: {p['file']}: {p['error']}")
    pdf_entries = []
    for pdf in pdfs:
        pdf = Path(pdf)
        rel = f"pdf/{pdf.name}"
        if not pdf.is_file():
            night["problems"].append(f"datacheck PDF {pdf} is missing")
            continue
        atomic.copy_file(pdf, night_dir / rel)
        keep.add(rel)
        pdf_entries.append({"path": rel, "title": f"lstchain datacheck: {pdf.name}"})
    for path, title in links:
        path = Path(path)
        if not path.is_file():
            continue
        atomic.copy_file(path, night_dir / path.name)
        keep.add(path.name)
        pdf_entries.append({"path": path.name, "title": title})
    problem = publish_problem(read_publish_status(publish_status))
    if problem:
        night["problems"].append(problem)
    night["plots"] = plots
    night["pdfs"] = pdf_entries
    # what is no longer produced goes (e.g. a run excluded afterwards); the publish manifest stays
    for path in sorted(night_dir.rglob("*"), reverse=True):
        rel = path.relative_to(night_dir).as_posix()
        if path.is_file() and not rel.startswith(".") and rel not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    atomic.write_json(night_dir / NIGHT_JSON, night)
    page = render_night_page(night, night_dir)
    render_all_nights(Path(web_root))
    return page


def _add_dl1b(night: dict, config: dict, base: Path) -> None:
    """The DL1b table (lstosa_snake.jobs.dl1b.night_rows) and LSTOSA's DL1AB% column, when the night has
    DL1b products (docs/dl1b.md)."""
    from lstosa_snake.jobs.dl1b import night_rows
    from lstosa_snake.night.plan import night_paths

    data = [s for s in night["sequences"] if s.get("type") == "DATA" and s.get("planned_subruns")]
    rows = night_rows(night_paths(config, base), data)
    if not any(r["dl1_prod_id"] for r in rows):
        return
    night["dl1b"] = rows
    for seq, row in zip(data, rows):
        seq["stages"]["dl1ab"] = row["dl1ab"]


def live_runs(state_file: Path) -> dict | None:
    """lstosa-follow's run states (follow/state.json), for the page while the night is observed."""
    try:
        state = json.loads(Path(state_file).read_text())
    except (OSError, ValueError):
        return None
    runs = [{"run": int(r), **v} for r, v in sorted(state.get("run_states", {}).items(), key=lambda kv: int(kv[0]))]
    return {"updated": state.get("updated"), "runs": runs}


def render_all_nights(web_root: Path) -> Path:
    """The production's index page from every night directory's ``night.json``."""
    nights = []
    for d in sorted(Path(web_root).iterdir()) if Path(web_root).is_dir() else []:
        f = d / NIGHT_JSON
        if d.is_dir() and f.is_file():
            try:
                nights.append(json.loads(f.read_text()))
            except (OSError, ValueError):
                continue
    return render_index(nights, web_root)


def _now() -> str:
    import datetime as dt  # noqa: PLC0415

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _set_publish_problem(night_dir: Path, problem: str | None) -> None:
    """Replace the publication problem of the local night page (None: remove it); re-render if changed."""
    night_json = night_dir / NIGHT_JSON
    try:
        night = json.loads(night_json.read_text())
    except (OSError, ValueError):
        return
    before = list(night.get("problems") or [])
    after = [p for p in before if not p.startswith(PUBLISH_PROBLEM)] + ([problem] if problem else [])
    if after != before:
        night["problems"] = after
        atomic.write_json(night_json, night)
        render_night_page(night, night_dir)


def publish_night(web_root: Path, date: str, url: str | None, status_file: Path, **publish_kw) -> dict:
    """Upload the night's directory to ``<url>/<YYYYMMDD>/`` and the index to ``<url>/index.html``.

    Never raises for a failed publication: the outcome goes to ``status_file`` (JSON: state
    sent/unchanged/failed/skipped, url, counts, error) and is returned; on failure the local night
    page is re-rendered with the failure among its problems. Credentials come from the
    environment or netrc (:func:`lstosa_snake.web.publish.find_credentials`), never from here.
    """
    import logging  # noqa: PLC0415

    from . import publish  # noqa: PLC0415 (requests: only needed when publishing)

    log = logging.getLogger("lstosa_snake.web.datacheck")
    web_root = Path(web_root)
    night_dir = web_root / night_dirname(date)
    status = {"date": date, "url": None, "time": _now(), "state": "skipped", "sent": 0, "unchanged": 0,
              "failed": 0, "error": None}
    _set_publish_problem(night_dir, None)  # an earlier failure is not shown while retrying
    if not url:
        status["error"] = "no datacheck_url configured: publishing skipped"
        log.info(status["error"])
    else:
        base = url.rstrip("/") + "/"
        status["url"] = publish._safe_url(base + night_dirname(date) + "/")  # without user info
        try:
            result = publish.publish_dir(night_dir, base + night_dirname(date) + "/", **publish_kw)
            status.update(sent=len(result.sent), unchanged=len(result.unchanged), failed=len(result.failed))
            if result.ok:
                # the index last: it links to the night
                with tempfile.TemporaryDirectory(dir=web_root, prefix=".index-") as tmp:
                    atomic.copy_file(web_root / "index.html", Path(tmp) / "index.html")
                    idx = publish.publish_dir(tmp, base, manifest_path=web_root / ".published_index.json",
                                              **publish_kw)
                status["sent"] += len(idx.sent)
                status["failed"] += len(idx.failed)
                result.errors.update(idx.errors)
            if status["failed"]:
                status["state"] = "failed"
                status["error"] = "; ".join(f"{k}: {v}" for k, v in list(result.errors.items())[:5])
            else:
                status["state"] = "sent" if status["sent"] else "unchanged"
        except publish.PublishError as exc:
            status.update(state="failed", error=str(exc))
        except Exception as exc:  # noqa: BLE001 (publishing must never fail the night)
            status.update(state="failed", error=f"{type(exc).__name__}: {exc}".splitlines()[0])
    atomic.write_json(Path(status_file), status)
    problem = publish_problem(status)
    if problem:
        log.error(problem)
        _set_publish_problem(night_dir, problem)
    else:
        log.info("publishing %s: %s (sent %d, unchanged %d)", date, status["state"], status["sent"], status["unchanged"])
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lstosa_snake.web.datacheck")
    sub = parser.add_subparsers(dest="command", required=True)
    n = sub.add_parser("night", help="build the night's datacheck directory and page, and the index")
    n.add_argument("--base", required=True, help="project directory (config paths are relative to it)")
    n.add_argument("--config-json", required=True)
    n.add_argument("--web-root", required=True, help="datacheck_web/<prod_id> directory")
    n.add_argument("--plots", nargs="*", default=[], help="plots.json manifests")
    n.add_argument("--pdf", nargs="*", default=[], help="lstchain datacheck PDFs")
    n.add_argument("--link", nargs=2, action="append", default=[], metavar=("FILE", "TITLE"),
                   help="another file to copy and link from the page")
    n.add_argument("--publish-status", help="the night's publication status file (read if present)")
    pub = sub.add_parser("publish", help="upload the night's directory and the index (never fails)")
    pub.add_argument("--web-root", required=True)
    pub.add_argument("--date", required=True)
    pub.add_argument("--url", default="", help="datacheck_url/<prod_id>; empty: skipped")
    pub.add_argument("--status", required=True, help="status file to write (JSON)")
    pub.add_argument("--timeout", type=float, default=30.0)
    pub.add_argument("--retries", type=int, default=3)
    args = parser.parse_args(argv)
    if args.command == "publish":
        import logging  # noqa: PLC0415

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        status = publish_night(Path(args.web_root), args.date, args.url or None, Path(args.status),
                               timeout=args.timeout, retries=args.retries)
        print(f"publish {args.date}: {status['state']}" + (f": {status['error']}" if status["error"] else ""))
        return 0
    try:
        page = build_night_dir(json.loads(args.config_json), Path(args.base), Path(args.web_root),
                               [Path(p) for p in args.plots], [Path(p) for p in args.pdf],
                               [(Path(f), t) for f, t in args.link],
                               Path(args.publish_status) if args.publish_status else None)
    except LstosaError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    print(f"night page: {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
