"""Static HTML pages of the nightly processing: one page per night and an index.

Pages are rendered with jinja2 (``templates/night.html.j2``, ``templates/index.html.j2``)
with autoescaping ON for every template, so any text coming from the data (run or
source names, captions, problems) is shown as text, never interpreted as HTML.
Links and image sources are made from *relative* paths, percent-quoted, so that a
path can never become a ``javascript:`` or other absolute URL.  The pages are plain
HTML + inline CSS: no JavaScript, no external resources (fonts, CSS, images).

Layout on disk (and on the web server)::

    OUT/index.html                 render_index(nights, OUT)
    OUT/<YYYYMMDD>/index.html      render_night_page(night, OUT / "<YYYYMMDD>")
    OUT/<YYYYMMDD>/<plot paths>    (the PNGs and PDFs, relative to the night page)

The ``night`` dict
------------------
::

    {
      "date": "2020-01-27",              # night date, YYYY-MM-DD (YYYYMMDD accepted)
      "prod_id": "v0.1.0",
      "closed": False,                   # True once the night is closed
      "state": "open",                   # "open" | "closed" | "closed_products_missing"
      "calibration_only": False,         # True: calibration runs but no DATA run to process
      "input_state": "gain_selected (read from the raw files of run(s) 01874)",  # night/input_state.py
      "missing_products": [],            # closed night: products missing/changed since closing
      "repair_command": None,            # shown with them
      "skipped_rows": [                  # night summary rows left out as bad
        {"file": ".../NightSummary_20200127.txt", "line": 7, "run": 1890, "reason": "..."},
      ],
      "generated": "2020-01-28T08:00:00+00:00",   # ISO 8601, shown as is
      "sequences": [                     # one table row each, sorted by "seq"
        {
          "seq": 0,                      # sequence number
          "parent": None,                # parent sequence number or None
          "type": "DATA",                # "DRS4" | "CALI" | "DATA"
          "run": 1874,                   # run number (shown zero-padded to 5 digits)
          "n_subruns": 194,
          "calibration": "DRS4 01872 + CALI 01873 (2020-01-27)",
          "stages": {                    # fraction 0.0-1.0 done; missing/None -> "–"
            "r0_to_dl1": 1.0, "datacheck": 1.0, "dl1_to_dl2": 0.5, "merge": 0.0,
          },
          "note": None,                  # instead of the stages: "unused", "excluded", "missing raw data"
          "failed_subruns": [12, 13],    # shown compacted: "12–13"
          "excluded_subruns": [],
          "missing_raw_subruns": [],     # sub-runs without raw files
          "cpu_s": 3600.0,               # float or None
          "wall_s": 900.0,               # float or None
          "source": "Crab",              # str or None
        },
      ],
      "plots": [                         # PNGs, path relative to the night page
        {"path": "plots/datacheck_01874.png", "caption": "...", "run": 1874},  # run None: night-wide
      ],
      "pdfs": [{"path": "datacheck_01874.pdf", "title": "..."}],
      "problems": ["sub-run 12 of run 1874 failed in r0_to_dl1", ...],
      "dl1b": [                          # DL1b per DATA run (lstosa_snake.jobs.dl1b.night_rows)
        {"run": 1874, "dl1_prod_id": "tailcut84", "source": "tail-cut finder", "nsb": 0.02,
         "nsb_level": 0.0, "catB": "cat_B_calibration_filters_52.Run01874.h5 (...)", "dl1ab": 1.0},
      ],
    }

Every key but ``date`` may be missing (empty list / None / False is assumed).
Stage keys other than the four above are shown as extra columns after them.

``render_index(nights, out_dir)`` takes a list of such dicts (``plots``/``pdfs``
are not needed there) and lists them newest first, each date linking to
``<YYYYMMDD>/index.html``, with the closed state and counts of sequences, data runs,
sub-runs, failed sub-runs and problems.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import jinja2

from lstosa_snake.core import atomic

STAGES = [
    ("r0_to_dl1", "R0→DL1"),
    ("datacheck", "Datacheck"),
    ("dl1_to_dl2", "DL1→DL2"),
    ("merge", "Merge"),
]
TYPE_ORDER = {"DRS4": 0, "CALI": 1, "DATA": 2}
#: stage columns only some nights have (calibration rows: share of the run's calibration files)
EXTRA_STAGE_LABELS = {"calibration": "Calib. files"}
#: the night's ``state`` (lstosa_snake.status.overview) -> badge text
STATE_LABELS = {"open": "open (processing)", "closed": "closed", "closed_products_missing": "closed — products missing"}

_env: jinja2.Environment | None = None


def environment() -> jinja2.Environment:
    """The jinja2 environment (autoescape ON for all templates, strict undefined)."""
    global _env
    if _env is None:
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("lstosa_snake.web", "templates"),
            autoescape=True,  # not select_autoescape: our templates end in .j2
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters.update(pct=fmt_pct, duration=fmt_duration, subruns=fmt_subruns, stage_class=stage_class)
        _env = env
    return _env


# --------------------------------------------------------------------------- filters


def fmt_pct(fraction) -> str:
    if fraction is None:
        return "–"
    value = max(0.0, min(1.0, float(fraction))) * 100
    if 0 < value < 1:
        return f"{value:.1f} %"
    if 99 < value < 100:  # never round an unfinished stage up to 100 %
        return f"{min(value, 99.9):.1f} %"
    return f"{value:.0f} %"


def stage_class(fraction) -> str:
    if fraction is None:
        return "na"
    f = float(fraction)
    if f >= 1.0:
        return "done"
    if f <= 0.0:
        return "zero"
    return "part"


def fmt_duration(seconds) -> str:
    if seconds is None:
        return "–"
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s"
    minutes, sec = divmod(int(round(s)), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_subruns(subruns) -> str:
    """[1, 2, 3, 7, 9, 10] -> '1–3, 7, 9–10'; empty -> '–'."""
    nums = sorted({int(x) for x in (subruns or [])})
    if not nums:
        return "–"
    parts, start, prev = [], nums[0], nums[0]
    for n in nums[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}–{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)


# --------------------------------------------------------------------------- model


def night_dirname(date: str) -> str:
    """'2020-01-27' -> '20200127' (the night's directory name)."""
    digits = str(date).replace("-", "")
    if len(digits) != 8 or not digits.isdigit():
        raise ValueError(f"night date must be YYYY-MM-DD or YYYYMMDD, got {date!r}")
    return digits


def _iso_date(date: str) -> str:
    d = night_dirname(date)
    return f"{d[:4]}-{d[4:6]}-{d[6:]}"


def _href(path: str) -> str:
    """A relative, percent-quoted URL for a path relative to the page."""
    p = str(path).replace("\\", "/").lstrip("/")
    return quote(p, safe="/-._~")


def _run_label(run) -> str:
    if run is None:
        return "–"
    try:
        return f"{int(run):05d}"
    except (TypeError, ValueError):
        return str(run)


def _sequence(s: dict) -> dict:
    out = {
        "seq": s.get("seq"),
        "parent": s.get("parent"),
        "type": str(s.get("type") or "?"),
        "run": s.get("run"),
        "run_label": _run_label(s.get("run")),
        "n_subruns": s.get("n_subruns"),
        "calibration": s.get("calibration") or "",
        "stages": dict(s.get("stages") or {}),
        "note": s.get("note") or "",  # instead of the stages: unused / excluded / missing raw data
        "failed_subruns": list(s.get("failed_subruns") or []),
        "excluded_subruns": list(s.get("excluded_subruns") or []),
        "missing_raw_subruns": list(s.get("missing_raw_subruns") or []),
        "cpu_s": s.get("cpu_s"),
        "wall_s": s.get("wall_s"),
        "source": s.get("source"),
    }
    return out


def _dl1b_row(r: dict) -> dict:
    """A row of the DL1b table (lstosa_snake.jobs.dl1b.night_rows): cleaning, NSB, Cat-B per run."""
    nsb, level = r.get("nsb"), r.get("nsb_level")
    return {
        "run_label": _run_label(r.get("run")),
        "dl1_prod_id": str(r.get("dl1_prod_id") or "–"),
        "source": str(r.get("source") or "–"),
        "nsb": "–" if nsb is None else f"{float(nsb):.3f}",
        "nsb_level": "–" if level is None else f"{float(level):.2f}",
        "catB": str(r.get("catB") or "–"),
        "dl1ab": r.get("dl1ab"),
    }


def _summary(sequences: list[dict]) -> dict:
    data = [s for s in sequences if s["type"] == "DATA"]
    return {
        "n_sequences": len({s["seq"] for s in sequences}),  # a DRS4 row shares its CALI row's sequence
        "n_data": len(data),
        "n_subruns": sum(int(s["n_subruns"] or 0) for s in data),
        "n_failed": sum(len(s["failed_subruns"]) for s in sequences),
        "n_excluded": sum(len(s["excluded_subruns"]) for s in sequences),
        "n_missing_raw_runs": sum(1 for s in data if s["note"] == "missing raw data"),
    }


def _stages(sequences: list[dict]) -> list[tuple[str, str]]:
    stages = list(STAGES)
    known = {k for k, _ in stages}
    for s in sequences:
        for key in s["stages"]:
            if key not in known:
                known.add(key)
                stages.append((key, EXTRA_STAGE_LABELS.get(key, key.replace("_", " "))))
    return stages


def _seq_sort_key(s: dict):
    seq = s["seq"]
    return (0, seq, "") if isinstance(seq, int) else (1, 0, str(seq))


LIVE_CSS = {"done": "good", "failed": "bad", "taking data": "running", "processing": "running"}


def normalize_night(night: dict) -> dict:
    """Fill defaults, sort sequences and add the derived fields used by the templates."""
    if "date" not in night:
        raise ValueError("night dict has no 'date'")
    sequences = sorted((_sequence(s) for s in night.get("sequences") or []), key=_seq_sort_key)
    out = {
        "date": _iso_date(night["date"]),
        "dirname": night_dirname(night["date"]),
        "prod_id": str(night.get("prod_id") or "–"),
        "closed": bool(night.get("closed")),
        "generated": str(night.get("generated") or ""),
        "sequences": sequences,
        "plots": [
            {
                "path": str(p["path"]),
                "href": _href(p["path"]),
                "caption": str(p.get("caption") or Path(str(p["path"])).name),
                "run": p.get("run"),
            }
            for p in night.get("plots") or []
        ],
        "pdfs": [
            {"path": str(d["path"]), "href": _href(d["path"]), "title": str(d.get("title") or "")}
            for d in night.get("pdfs") or []
        ],
        "problems": [str(p) for p in night.get("problems") or []],
        "dl1b": [_dl1b_row(r) for r in night.get("dl1b") or []],
        "calibration_only": bool(night.get("calibration_only")),
        "input_state": str(night.get("input_state") or ""),
        "missing_products": [str(m) for m in night.get("missing_products") or []],
        "repair_command": str(night.get("repair_command") or ""),
        "skipped_rows": [
            {"file": str(r.get("file") or ""), "line": r.get("line"), "run": _run_label(r.get("run")),
             "reason": str(r.get("reason") or "")}
            for r in night.get("skipped_rows") or []
        ],
        # lstosa-follow's view while the night is observed (follow.py): run -> state
        "live": {
            "updated": str((night.get("live") or {}).get("updated") or ""),
            "runs": [
                {"run": _run_label(r.get("run")), "type": str(r.get("type") or ""), "state": str(r.get("state") or ""),
                 "complete_subruns": r.get("complete_subruns"), "css": LIVE_CSS.get(str(r.get("state")), "")}
                for r in (night.get("live") or {}).get("runs") or []
            ],
        },
    }
    # night.json of nights rendered before "state" existed: closed or open only
    state = night.get("state") or ("closed" if out["closed"] else "open")
    out["state"], out["state_label"] = state, STATE_LABELS.get(state, state)
    out["summary"] = _summary(sequences)
    out["href"] = f"{out['dirname']}/index.html"
    return out


def _plot_groups(night: dict) -> list[tuple[str, str, list[dict]]]:
    """Plots grouped per run (night-wide plots, run None, first), in input order."""
    groups: dict = {}
    for p in night["plots"]:
        groups.setdefault(p["run"], []).append(p)
    sources = {s["run"]: s["source"] for s in night["sequences"] if s["type"] == "DATA" and s["source"]}

    def key(run):
        if run is None:
            return (0, 0, "")
        try:
            return (1, int(run), "")
        except (TypeError, ValueError):
            return (2, 0, str(run))

    out = []
    for run in sorted(groups, key=key):
        if run is None:
            title, anchor = "Night", "plots-night"
        else:
            title = f"Run {_run_label(run)}"
            if sources.get(run):
                title += f" ({sources[run]})"
            anchor = f"plots-run-{_href(str(run))}"
        out.append((title, anchor, groups[run]))
    return out


def render_night_html(night: dict) -> str:
    model = normalize_night(night)
    template = environment().get_template("night.html.j2")
    return template.render(
        night=model,
        summary=model["summary"],
        stages=_stages(model["sequences"]),
        plot_groups=_plot_groups(model),
    )


def render_night_page(night: dict, out_dir: str | os.PathLike) -> Path:
    """Write ``out_dir/index.html`` for one night (``out_dir`` is the night's directory,
    the plot/PDF paths are relative to it).  Returns the path written."""
    return atomic.write_text(Path(out_dir) / "index.html", render_night_html(night))


def render_index_html(nights: list[dict], generated: str | None = None) -> str:
    models = sorted((normalize_night(n) for n in nights), key=lambda n: n["date"], reverse=True)
    if generated is None:
        generated = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    return environment().get_template("index.html.j2").render(nights=models, generated=generated)


def render_index(nights: list[dict], out_dir: str | os.PathLike) -> Path:
    """Write ``out_dir/index.html`` listing ``nights`` (newest first), each linking to
    ``<YYYYMMDD>/index.html``.  Returns the path written."""
    return atomic.write_text(Path(out_dir) / "index.html", render_index_html(nights))
