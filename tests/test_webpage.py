"""Tests of the night/index web pages (lstosa_snake.web.page), incl. a headless browser."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lstosa_snake.web import page as webpage
from lstosa_snake.web.publish import Credentials, publish_dir
from lstosa_snake.web.page import (
    fmt_duration,
    fmt_pct,
    fmt_subruns,
    render_index,
    render_night_html,
    render_night_page,
)

EVIL = "<script>alert('x')</script>"


# --------------------------------------------------------------------------- data


def make_png(path: Path, width: int = 360, height: int = 220, seed: int = 0) -> Path:
    """Write a small valid RGB PNG that looks like a plot (axes, grid, a curve, bars)."""
    import math

    bg, axis, grid = (255, 255, 255), (40, 40, 40), (225, 228, 235)
    colors = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189)]
    color = colors[seed % len(colors)]
    px = [[bg] * width for _ in range(height)]
    x0, y0 = 30, height - 25  # origin
    for gx in range(x0, width - 10, 40):
        for y in range(15, y0):
            px[y][gx] = grid
    for gy in range(y0, 15, -30):
        for x in range(x0, width - 10):
            px[gy][x] = grid
    # histogram bars
    for i, x in enumerate(range(x0 + 6, width - 20, 14)):
        h = int((y0 - 20) * 0.5 * (1 + math.sin(0.35 * i + seed)) ** 2 / 2) + 4
        for y in range(y0 - h, y0):
            for dx in range(10):
                px[y][x + dx] = tuple(int(c + (255 - c) * 0.6) for c in color)
    # curve
    for x in range(x0, width - 10):
        y = int(y0 - 20 - (y0 - 40) * 0.5 * (1 + math.sin((x - x0) / 25.0 + seed)))
        for dy in (-1, 0, 1):
            px[y + dy][x] = color
    for x in range(x0, width - 10):
        px[y0][x] = axis
    for y in range(15, y0 + 1):
        px[y][x0] = axis
    raw = b"".join(b"\x00" + bytes(c for p in row for c in p) for row in px)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path


def seq(seq_id, parent, typ, run, n_subruns, **kw):
    d = {
        "seq": seq_id,
        "parent": parent,
        "type": typ,
        "run": run,
        "n_subruns": n_subruns,
        "calibration": "",
        "stages": {},
        "failed_subruns": [],
        "excluded_subruns": [],
        "cpu_s": None,
        "wall_s": None,
        "source": None,
    }
    d.update(kw)
    return d


def sample_night(source_evil: bool = True, closed: bool = False) -> dict:
    cal = "DRS4 01872 + CALI 01873 (2020-01-27)"
    return {
        "date": "2020-01-27",
        "prod_id": "v0.1.0",
        "closed": closed,
        "generated": "2020-01-28T08:15:00+00:00",
        "sequences": [
            seq(0, None, "DRS4", 1872, 1, stages={"r0_to_dl1": 1.0}, cpu_s=42.0, wall_s=40.0),
            seq(1, 0, "CALI", 1873, 1, calibration="DRS4 01872 (2020-01-27)", stages={"r0_to_dl1": 1.0}, cpu_s=610.0, wall_s=300.0),
            seq(
                2, 1, "DATA", 1874, 194, calibration=cal,
                stages={"r0_to_dl1": 1.0, "datacheck": 1.0, "dl1_to_dl2": 0.995, "merge": 0.0},
                failed_subruns=[12, 13, 14, 40], excluded_subruns=[0],
                cpu_s=25_000.0, wall_s=3_700.0, source=EVIL if source_evil else "Crab",
            ),
            seq(
                3, 1, "DATA", 1875, 12, calibration=cal,
                stages={"r0_to_dl1": 0.5, "datacheck": 0.25, "dl1_to_dl2": 0.0, "merge": 0.0},
                cpu_s=1_000.0, wall_s=500.0, source="Mrk421",
            ),
        ],
        "plots": [
            {"path": "plots/night_summary.png", "caption": "Night summary: rates vs time", "run": None},
            {"path": "plots/run01874/charge.png", "caption": "Run 01874 charge", "run": 1874},
            {"path": "plots/run01874/pedestal.png", "caption": f"Run 01874 pedestal {EVIL}", "run": 1874},
            {"path": "plots/run01875/charge.png", "caption": "Run 01875 charge", "run": 1875},
            {"path": "plots/run01875/time.png", "caption": "Run 01875 peak time", "run": 1875},
        ],
        "pdfs": [
            {"path": "datacheck_dl1_LST-1.Run01874.pdf", "title": "DL1 datacheck run 01874"},
            {"path": "datacheck_dl1_LST-1.Run01875.pdf", "title": "DL1 datacheck run 01875"},
        ],
        "problems": ["run 01874: sub-runs 12-14, 40 failed in r0_to_dl1", f"odd source name {EVIL}"],
    }


class TableParser(HTMLParser):
    """Collects the cell texts of each <tbody> row of <table class="CLASS">, and tags seen."""

    def __init__(self, table_class: str):
        super().__init__()
        self.table_class = table_class
        self.rows: list[list[str]] = []
        self.tags: dict[str, int] = {}
        self.attrs: list[tuple[str, str, str]] = []
        self._in_table = self._in_tbody = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for k, v in attrs:
            self.attrs.append((tag, k, v or ""))
        a = dict(attrs)
        if tag == "table" and self.table_class in (a.get("class") or "").split():
            self._in_table = True
        elif tag == "tbody" and self._in_table:
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody:
            self.rows.append([])
        elif tag == "td" and self._in_tbody:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tbody":
            self._in_tbody = False
        elif tag == "table":
            self._in_table = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(text: str, table_class: str = "sequences") -> TableParser:
    p = TableParser(table_class)
    p.feed(text)
    return p


# --------------------------------------------------------------------------- unit tests


def test_script_in_source_name_is_escaped():
    night = sample_night()
    text = render_night_html(night)
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text
    p = parse(text)
    assert p.tags.get("script") is None
    run_cells = [row[3] for row in p.rows]
    assert f"01874{EVIL}" in run_cells  # shown as text, verbatim


def test_autoescape_is_on_for_j2_templates():
    env = webpage.environment()
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    text = webpage.render_index_html([{"date": "2020-01-01", "prod_id": "<p>v1</p>"}], generated="<i>now</i>")
    assert "<p>" not in text and "<i>" not in text
    assert "&lt;p&gt;v1&lt;/p&gt;" in text and "&lt;i&gt;now&lt;/i&gt;" in text


def test_table_has_one_row_per_sequence(tmp_path):
    night = sample_night()
    out = render_night_page(night, tmp_path / "20200127")
    assert out == tmp_path / "20200127" / "index.html"
    p = parse(out.read_text())
    assert len(p.rows) == len(night["sequences"]) == 4
    # Seq, Parent, Type, Run, Sub-runs, Calibration, 4 stages, Failed, Excluded, No raw data, CPU, Wall
    assert all(len(r) == 15 for r in p.rows)
    assert [r[0] for r in p.rows] == ["0", "1", "2", "3"]
    data = p.rows[2]
    assert data[1] == "1" and data[2] == "DATA" and data[4] == "194"
    assert data[5] == "DRS4 01872 + CALI 01873 (2020-01-27)"
    assert data[6:10] == ["100 %", "100 %", "99.5 %", "0 %"]
    assert data[10] == "12–14, 40" and data[11] == "0" and data[12] == "–"
    assert data[13] == "6 h 56 min" and data[14] == "1 h 01 min"
    assert p.rows[0][1] == "–" and p.rows[0][7] == "–"  # no parent; stage not applicable


def test_page_contents_and_no_external_resources():
    night = sample_night()
    text = render_night_html(night)
    p = parse(text)
    assert p.tags.get("script") is None and p.tags.get("link") is None
    for tag, attr, value in p.attrs:
        if attr in ("src", "href"):
            assert not re.match(r"^[a-z]+:|^//", value), (tag, attr, value)
    srcs = [v for t, a, v in p.attrs if t == "img" and a == "src"]
    alts = [v for t, a, v in p.attrs if t == "img" and a == "alt"]
    assert srcs == [
        "plots/night_summary.png",
        "plots/run01874/charge.png",
        "plots/run01874/pedestal.png",
        "plots/run01875/charge.png",
        "plots/run01875/time.png",
    ]
    assert alts[2] == f"Run 01874 pedestal {EVIL}"  # alt = caption (parser unescapes)
    assert "Run 01874 (&lt;script&gt;" in text and "Run 01875 (Mrk421)" in text  # grouped per run
    assert 'href="datacheck_dl1_LST-1.Run01874.pdf"' in text and "DL1 datacheck run 01875" in text
    assert "sub-runs 12-14, 40 failed" in text
    assert "open (processing)" in text and "v0.1.0" in text and "2020-01-27" in text
    assert "closed</span>" in render_night_html(sample_night(closed=True))


def test_paths_cannot_become_absolute_urls():
    night = {"date": "20200127", "plots": [{"path": "javascript:alert(1)", "caption": "c", "run": None}],
             "pdfs": [{"path": "http://evil.example/x.pdf", "title": "t"}]}
    text = render_night_html(night)
    assert 'src="javascript:' not in text and 'href="http:' not in text
    assert 'src="javascript%3Aalert%281%29"' in text


def test_minimal_night_renders():
    text = render_night_html({"date": "2020-01-27"})
    assert "No sequences." in text and "No plots." in text and "No problems reported." in text


def test_index(tmp_path):
    a = sample_night(closed=True)
    b = dict(sample_night(), date="2020-01-28", sequences=[], problems=[])
    out = render_index([a, b], tmp_path)
    assert out == tmp_path / "index.html"
    text = out.read_text()
    p = parse(text, "nights")
    assert len(p.rows) == 2
    assert [r[0] for r in p.rows] == ["2020-01-28", "2020-01-27"]  # newest first
    assert 'href="20200128/index.html"' in text and 'href="20200127/index.html"' in text
    assert p.rows[1][2] == "closed" and p.rows[0][2] == "open"
    assert p.rows[1][3:8] == ["4", "2", "206", "4", "2"]  # sequences, data runs, sub-runs, failed, problems
    assert "<script" not in text.lower()


def test_formatters():
    assert fmt_pct(None) == "–" and fmt_pct(1) == "100 %" and fmt_pct(0.999) == "99.9 %" and fmt_pct(0.004) == "0.4 %"
    assert fmt_subruns([]) == "–" and fmt_subruns([5, 1, 2, 3, 9, 10]) == "1–3, 5, 9–10"
    assert fmt_duration(None) == "–" and fmt_duration(12.34) == "12.3 s" and fmt_duration(125) == "2 min 05 s"
    with pytest.raises(ValueError):
        webpage.night_dirname("27/01/2020")


# --------------------------------------------------------------------------- browser


CHECK_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>check</title></head>
<body>
<pre id="result">pending</pre>
<iframe id="page" src="{page}" width="1280" height="2000"></iframe>
<script>
document.getElementById("page").addEventListener("load", function () {{
  var d = this.contentDocument;
  var imgs = Array.prototype.map.call(d.images, function (i) {{
    return {{src: i.getAttribute("src"), alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight}};
  }});
  var rows = Array.prototype.map.call(d.querySelectorAll("table.sequences tbody tr"), function (tr) {{
    return tr.children[3].textContent.trim();
  }});
  document.getElementById("result").textContent = JSON.stringify({{
    title: d.title, imgs: imgs, rows: rows, scripts: d.getElementsByTagName("script").length
  }});
}});
</script>
</body></html>
"""


def _browser_check(chromium, url: str) -> dict:
    dom = chromium.dump_dom(url)
    m = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert m, dom[-2000:]
    text = html.unescape(m.group(1))
    assert text != "pending", "night page did not load in the iframe"
    return json.loads(text)


def build_night_dir(root: Path, night: dict, missing: tuple[str, ...] = ()) -> Path:
    for i, p in enumerate(night["plots"]):
        if p["path"] not in missing:
            make_png(root / p["path"], seed=i)
    for d in night["pdfs"]:
        (root / d["path"]).write_bytes(b"%PDF-1.4\n%%EOF\n")
    render_night_page(night, root)
    return root


@pytest.mark.web
def test_browser_renders_published_night(tmp_path, nginx_dav, dav_path, chromium):
    night = sample_night()
    build_night_dir(tmp_path / "20200127", night)
    render_index([night], tmp_path)
    creds = Credentials(nginx_dav.user, nginx_dav.password)
    # publish the whole site the way the workflow does: index + night directory
    res = publish_dir(tmp_path, nginx_dav.url + dav_path, credentials=creds)
    assert res.ok and "20200127/index.html" in res.sent
    (nginx_dav.root / dav_path / "check.html").write_text(CHECK_PAGE.format(page="20200127/index.html"))

    base = nginx_dav.public_url + dav_path
    result = _browser_check(chromium, base + "check.html")
    assert result["title"] == "LST-1 night 2020-01-27 (v0.1.0)"
    assert result["scripts"] == 0
    # one row per sequence/run, the <script> source name shown as text
    assert result["rows"] == ["01872", "01873", f"01874{EVIL}", "01875Mrk421"]
    imgs = result["imgs"]
    assert len(imgs) == len(night["plots"]) == 5
    broken = [i for i in imgs if not (i["complete"] and i["w"] > 0 and i["h"] > 0)]
    assert broken == [], broken
    assert all((i["w"], i["h"]) == (360, 220) for i in imgs)
    # every image really came through nginx
    for p in night["plots"]:
        assert nginx_dav.count("GET", f"/{dav_path}20200127/{p['path']}", 200, port=nginx_dav.public_port) >= 1

    shot = chromium.screenshot(base + "20200127/index.html", tmp_path / "night.png")
    assert shot.stat().st_size > 20_000
    idx_shot = chromium.screenshot(base + "index.html", tmp_path / "index.png", size="1280,500")
    keep = os.environ.get("LSTOSA_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "night.png")
        shutil.copy(idx_shot, Path(keep) / "index.png")


@pytest.mark.web
def test_browser_check_detects_broken_image(tmp_path, nginx_dav, dav_path, chromium):
    """Negative control: the image check does see a missing plot."""
    night = sample_night(source_evil=False)
    missing = night["plots"][1]["path"]
    build_night_dir(nginx_dav.root / dav_path / "20200127", night, missing=(missing,))
    (nginx_dav.root / dav_path / "check.html").write_text(CHECK_PAGE.format(page="20200127/index.html"))
    result = _browser_check(chromium, nginx_dav.public_url + dav_path + "check.html")
    broken = [i["src"] for i in result["imgs"] if i["w"] == 0]
    assert broken == [missing]


def test_night_states_notes_and_skipped_rows():
    night = sample_night(source_evil=False, closed=True)
    night.update(
        state="closed_products_missing",
        missing_products=["merged DL1 dl1_LST-1.Run01874.h5 is missing (/data/DL1/20200127/v0.12)"],
        repair_command="lstosa-nightly --repair --date 2020-01-27 --prod-id v0.1.0",
        skipped_rows=[{"file": "/data/NightSummary_20200127.txt", "line": 7, "run": 1890, "reason": f"bad type {EVIL}"}],
    )
    night["sequences"].append(seq(4, 1, "DATA", 1876, 3, note="missing raw data", stages={"r0_to_dl1": None}))
    night["sequences"][3]["missing_raw_subruns"] = [4, 5, 6]
    text = render_night_html(night)
    assert '<span class="badge closed_products_missing">closed — products missing</span>' in text
    alert = text.split('id="missing-products"')[1].split("</section>")[0]
    assert "dl1_LST-1.Run01874.h5 is missing" in alert
    assert "<code>lstosa-nightly --repair --date 2020-01-27 --prod-id v0.1.0</code>" in alert
    rows = parse(text).rows
    assert rows[3][12] == "4–6"  # the "No raw data" column
    assert rows[4][6] == "missing raw data" and len(rows[4]) == 15 - 3  # one cell over the four stages
    skipped = parse(text, "skipped").rows
    assert skipped == [["/data/NightSummary_20200127.txt", "7", "01890", f"bad type {EVIL}"]]
    assert "<script" not in text.lower()
    assert "<b>1</b> summary rows skipped" in text and "<b>1</b> runs without raw data" in text


def test_index_shows_lost_products_and_old_night_json():
    lost = dict(sample_night(closed=True), state="closed_products_missing")
    old = {"date": "2020-01-26", "prod_id": "v0.1.0", "closed": True}  # night.json without "state"
    calib = {"date": "2020-01-25", "state": "open", "calibration_only": True}
    rows = parse(webpage.render_index_html([lost, old, calib]), "nights").rows
    assert [r[2] for r in rows] == ["closed — products missing", "closed", "open calibration only"]
    assert "open (processing)" in render_night_html({"date": "2020-01-28"})
