"""What every datacheck plot shares: event-type names, atomic PNG and JSON writing, a placeholder PNG
without matplotlib, lazy imports of the tools' environment, HDF5 reading, and the guard that turns a
failed plot into a placeholder with its reason (see :mod:`lstosa_snake.web.plots`)."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

from lstosa_snake.core import atomic

#: ctapipe.containers.EventType values found in LST data
EVENT_TYPES = {
    0: "flat-field",
    1: "single p.e.",
    2: "sky pedestal",
    3: "dark pedestal",
    4: "electronic pedestal",
    5: "other calibration",
    16: "muon",
    17: "hardware stereo",
    24: "DAQ",
    32: "cosmic (subarray)",
    255: "unknown",
}
COSMIC = 32
GAINS = ("high gain", "low gain")

DL1_NODE = "/dl1/event/telescope/parameters/LST_LSTCam"
DL2_NODE = "/dl2/event/telescope/parameters/LST_LSTCam"
RUN_PLOTS = ("event_rate", "intensity", "image_parameters", "gammaness")
CALIBRATION_PLOTS = ("flatfield", "pedestal", "drs4_baseline")
MANIFEST = "plots.json"


class PlotError(Exception):
    """A plot cannot be made from its input; the message is shown as the plot's caption."""


def save_figure(fig, path: Path) -> Path:
    """Save a matplotlib figure as PNG atomically."""
    return atomic.write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))


def write_json(path: Path, data) -> Path:
    return atomic.write_json(path, data)


def placeholder_png(path: Path, width: int = 400, height: int = 100) -> Path:
    """A plain grey PNG without matplotlib (for a plot that could not be made), written atomically."""
    row = b"\x00" + bytes([0xDD, 0xDD, 0xDD]) * width
    raw = zlib.compress(row * height, 9)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    return atomic.write_bytes(path, png)


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; ValueError if it is not a PNG."""
    head = Path(path).read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG file")
    return struct.unpack(">II", head[16:24])


def import_numpy():
    import numpy  # noqa: PLC0415 (only in the tools' environment)

    return numpy


def import_pyplot():
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def read_columns(path, node: str, columns) -> dict:
    """Columns of one HDF5 table as numpy arrays (PlotError if the file, table or a column is missing)."""
    import tables  # noqa: PLC0415

    try:
        with tables.open_file(str(path), "r") as f:
            try:
                table = f.get_node(node)
            except tables.NoSuchNodeError:
                raise PlotError(f"{Path(path).name} has no table {node}") from None
            missing = [c for c in columns if c not in table.colnames]
            if missing:
                raise PlotError(f"{Path(path).name}: no column(s) {', '.join(missing)} in {node}")
            return {c: table.col(c) for c in columns}
    except PlotError:
        raise
    except Exception as exc:  # noqa: BLE001 (HDF5ExtError, OSError: not an HDF5 file, truncated file)
        raise PlotError(f"cannot read {Path(path).name}: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}") from None


def read_table_row(path, node: str) -> dict:
    """The first row of a (monitoring) table as {column: array}."""
    import tables  # noqa: PLC0415

    try:
        with tables.open_file(str(path), "r") as f:
            try:
                table = f.get_node(node)
            except tables.NoSuchNodeError:
                raise PlotError(f"{Path(path).name} has no table {node}") from None
            if table.nrows == 0:
                raise PlotError(f"{Path(path).name}: table {node} is empty")
            row = table.read(0, 1)
            return {c: row[c][0] for c in table.colnames}
    except PlotError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise PlotError(f"cannot read {Path(path).name}: {type(exc).__name__}") from None


def camera_geometry():
    """LSTCam pixel positions (m) from ctapipe_io_lst's bundled geometry, or None."""
    try:
        from ctapipe_io_lst import load_camera_geometry  # noqa: PLC0415

        geom = load_camera_geometry()
        return geom.pix_x.to_value("m"), geom.pix_y.to_value("m")
    except Exception:  # noqa: BLE001 (optional: histograms only without it)
        return None


def guarded(name: str, out_dir: Path, make, entries: list, meta: dict) -> None:
    """Make one plot; on failure write a placeholder and record the error."""
    path = out_dir / f"{name}.png"
    try:
        entry = make(path)
    except Exception as exc:  # noqa: BLE001 (one bad plot must not stop the page)
        reason = str(exc) if isinstance(exc, PlotError) else f"{type(exc).__name__}: {exc}"
        reason = reason.splitlines()[0][:300] if reason else type(exc).__name__
        placeholder_png(path)
        entry = {"title": f"{meta['label']}: {name.replace('_', ' ')} (not available)",
                 "caption": f"{meta['label']}: the {name.replace('_', ' ')} plot could not be made: {reason}",
                 "error": reason}
        print(f"lstosa-plots: {meta['label']}: {name}: {reason}", file=sys.stderr)
    else:
        print(f"lstosa-plots: wrote {path}")
    entries.append({"file": path.name, "plot": name, **entry})


def loader(fn):
    """Read once, lazily; a read error is raised by every plot that needs the data."""
    cache = {}

    def get():
        if "v" not in cache:
            try:
                cache["v"] = ("ok", fn())
            except Exception as exc:  # noqa: BLE001
                cache["v"] = ("err", exc)
        kind, v = cache["v"]
        if kind == "err":
            raise v
        return v

    return get


def write_manifest(out_dir: Path, meta: dict, entries: list) -> dict:
    """A plot directory's plots.json: its metadata and one entry per plot (made or failed)."""
    manifest = {**meta, "plots": entries}
    write_json(Path(out_dir) / MANIFEST, manifest)
    return manifest
