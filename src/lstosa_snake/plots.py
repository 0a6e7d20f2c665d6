"""Our own datacheck plots (PNG) from the workflow's real products, for the night page and the report.

Runs in the tools' environment (numpy, PyTables, matplotlib with the Agg backend)::

    python -m lstosa_snake.plots run --run 1874 --dl1 dl1_LST-1.Run01874.h5 --dl2 dl2_LST-1.Run01874.h5 --out-dir DIR
    python -m lstosa_snake.plots calibration --run 1873 --calibration calibration_filters_52.Run01873.0000.h5 \
        --drs4 drs4_pedestal.Run01872.0000.h5 --drs4-run 1872 --out-dir DIR

``run`` writes ``event_rate.png`` (rate vs time per event type), ``intensity.png``,
``image_parameters.png`` (width, length, r, psi) and ``gammaness.png`` (merged DL2);
``calibration`` writes ``flatfield.png`` (flat-field charge per pixel in p.e.), ``pedestal.png``
(pedestal charge and noise per pixel in p.e.) and ``drs4_baseline.png`` (DRS4 baseline mean
and noise per pixel). Every PNG is written atomically (temporary file + rename) and
``plots.json`` in the same directory lists, per PNG, its title and a caption with the plot's
key numbers: that file is what the night page and the workflow read.

A plot that cannot be made (unreadable or empty input, a missing column) does not stop the
others: a placeholder PNG saying why is written instead, its ``plots.json`` entry has
``"error"`` set, and the command still exits 0 so that the night's page and publication go
on; the night page lists these errors as problems. Exit 2 is only for bad arguments.
"""

from __future__ import annotations

import argparse
import struct
import sys
import zlib
from pathlib import Path

from . import atomic

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


# --------------------------------------------------------------------------- writing


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


# --------------------------------------------------------------------------- reading


def _np():
    import numpy  # noqa: PLC0415 (only in the tools' environment)

    return numpy


def _plt():
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


# --------------------------------------------------------------------------- run plots


def _event_type_label(t: int) -> str:
    return f"{EVENT_TYPES.get(int(t), 'type')} ({int(t)})"


def plot_event_rate(dl1: dict, run: int, path: Path) -> dict:
    np, plt = _np(), _plt()
    t = np.asarray(dl1["dragon_time"], dtype=float)
    types = np.asarray(dl1["event_type"])
    ok = np.isfinite(t) & (t > 0)
    if not ok.any():
        raise PlotError("no event with a valid time stamp")
    t0 = t[ok].min()
    rel = t[ok] - t0
    duration = float(rel.max())
    nbins = int(min(100, max(5, np.sqrt(ok.sum()))))
    edges = np.linspace(0.0, max(duration, 1e-3), nbins + 1)
    width = np.diff(edges)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    rates = {}
    styles = ("-", "--", ":", "-.")
    present, n_of = np.unique(types[ok], return_counts=True)
    for i, et in enumerate(present[np.argsort(-n_of, kind="stable")].tolist()):  # most frequent: solid
        sel = types[ok] == et
        counts, _ = np.histogram(rel[sel], edges)
        # the last edge repeated so that the last bin is drawn; line styles tell equal rates apart
        ax.step(edges, np.append(counts / width, counts[-1] / width[-1]), where="post",
                linestyle=styles[i % len(styles)], label=_event_type_label(et))
        rates[int(et)] = float(sel.sum() / duration) if duration > 0 else float("nan")
    ax.set_xlabel(f"time since first event (s), {duration:.1f} s in total")
    ax.set_ylabel("rate (events/s)")
    ax.set_title(f"Run {run:05d}: event rate by event type")
    ax.set_yscale("log")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    parts = ", ".join(f"{EVENT_TYPES.get(k, k)} {v:.1f} Hz" for k, v in rates.items())
    return {
        "title": f"Run {run:05d}: event rate",
        "caption": (f"Run {run:05d}: rate of DL1 events vs time, per event type (dragon time, {nbins} bins over "
                    f"{duration:.1f} s). Mean rates: {parts}."),
        "values": {"duration_s": duration, "mean_rate_hz": {str(k): v for k, v in rates.items()}},
    }


def plot_intensity(dl1: dict, run: int, path: Path) -> dict:
    np, plt = _np(), _plt()
    intensity = np.asarray(dl1["intensity"], dtype=float)
    cosmic = (np.asarray(dl1["event_type"]) == COSMIC) & np.isfinite(intensity) & (intensity > 0)
    if not cosmic.any():
        raise PlotError("no cosmic event with a positive intensity")
    x = np.log10(intensity[cosmic])
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.hist(x, bins=np.linspace(min(1.0, x.min()), max(6.0, x.max()), 51), histtype="stepfilled", alpha=0.7)
    ax.set_yscale("log")
    ax.set_xlabel("log10(intensity / p.e.)")
    ax.set_ylabel("events")
    ax.set_title(f"Run {run:05d}: image intensity (cosmic events)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    median = float(np.median(intensity[cosmic]))
    return {
        "title": f"Run {run:05d}: intensity",
        "caption": (f"Run {run:05d}: distribution of the image intensity (sum of the cleaned image, p.e.) of "
                    f"{int(cosmic.sum())} cosmic events with a valid image; median {median:.0f} p.e."),
        "values": {"n_events": int(cosmic.sum()), "median_pe": median},
    }


IMAGE_PARAMETERS = (("width", "width (deg)"), ("length", "length (deg)"), ("r", "r: distance from camera centre (m)"),
                    ("psi", "psi: orientation (deg)"))


def plot_image_parameters(dl1: dict, run: int, path: Path) -> dict:
    np, plt = _np(), _plt()
    cosmic = np.asarray(dl1["event_type"]) == COSMIC
    fig, axes = plt.subplots(2, 2, figsize=(9, 6))
    medians = {}
    for ax, (col, label) in zip(axes.flat, IMAGE_PARAMETERS):
        v = np.asarray(dl1[col], dtype=float)
        v = v[cosmic & np.isfinite(v)]
        if col == "psi" and v.size and np.nanmax(np.abs(v)) <= 2 * np.pi:  # radians in DL1 files
            v = np.degrees(v)
        if v.size == 0:
            ax.text(0.5, 0.5, "no valid values", ha="center", va="center", transform=ax.transAxes)
        else:
            ax.hist(v, bins=40, histtype="stepfilled", alpha=0.7)
            medians[col] = float(np.median(v))
        ax.set_xlabel(label)
        ax.set_ylabel("events")
        ax.grid(alpha=0.3)
    if not medians:
        plt.close(fig)
        raise PlotError("no cosmic event with valid image parameters")
    fig.suptitle(f"Run {run:05d}: Hillas image parameters (cosmic events)")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    text = ", ".join(f"{k} {v:.3g}" for k, v in medians.items())
    return {
        "title": f"Run {run:05d}: image parameters",
        "caption": (f"Run {run:05d}: distributions of the Hillas parameters width, length, r and psi of the cosmic "
                    f"events' cleaned images (merged DL1). Medians: {text}."),
        "values": {"median": medians},
    }


def plot_gammaness(dl2: dict, run: int, path: Path) -> dict:
    np, plt = _np(), _plt()
    g = np.asarray(dl2["gammaness"], dtype=float)
    g = g[np.isfinite(g)]
    if g.size == 0:
        raise PlotError("no DL2 event with a gammaness")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.hist(g, bins=np.linspace(0, 1, 41), histtype="stepfilled", alpha=0.7)
    ax.set_xlabel("gammaness")
    ax.set_ylabel("events")
    ax.set_xlim(0, 1)
    ax.set_title(f"Run {run:05d}: gammaness (merged DL2)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    above = float((g > 0.5).mean())
    return {
        "title": f"Run {run:05d}: gammaness",
        "caption": (f"Run {run:05d}: gammaness (random-forest gamma/hadron score) of the {g.size} events of the "
                    f"merged DL2 file; {100 * above:.1f} % above 0.5, median {float(np.median(g)):.2f}."),
        "values": {"n_events": int(g.size), "fraction_above_0_5": above},
    }


# --------------------------------------------------------------------------- calibration plots


def _camera(ax, geom, values, label, np, plt, cmap="viridis"):
    x, y = geom
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    vmin, vmax = (np.percentile(finite, [1, 99]) if finite.size else (0, 1))
    sc = ax.scatter(x, y, c=v, s=6, marker="h", cmap=cmap, vmin=vmin, vmax=vmax, linewidths=0)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    plt.colorbar(sc, ax=ax, label=label)


def _per_gain_hist(ax, arrays, label, np):
    for g, v in enumerate(arrays):
        v = np.asarray(v, dtype=float)
        v = v[np.isfinite(v)]
        if v.size:
            ax.hist(v, bins=60, histtype="step", label=GAINS[g])
    ax.set_xlabel(label)
    ax.set_ylabel("pixels")
    ax.set_yscale("log")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)


def _stats(v, np) -> tuple[float, float]:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    return (float(np.median(v)), float(np.std(v))) if v.size else (float("nan"), float("nan"))


def plot_flatfield(cal: dict, ff: dict, run: int, path: Path, geom) -> dict:
    np, plt = _np(), _plt()
    n_pe = np.asarray(cal["n_pe"], dtype=float)  # (gains, pixels): flat-field p.e. per pixel
    unusable = np.asarray(cal["unusable_pixels"], dtype=bool)
    n_pe = np.where(unusable, np.nan, n_pe)
    ncols = 2 if geom is not None else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.5 * ncols, 4.5), squeeze=False)
    _per_gain_hist(axes[0, 0], n_pe, "flat-field charge per pixel (p.e.)", np)
    if geom is not None:
        _camera(axes[0, 1], geom, n_pe[0], "p.e. (high gain)", np, plt)
    fig.suptitle(f"Calibration run {run:05d}: flat-field charge per pixel")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    hg, hg_spread = _stats(n_pe[0], np)
    n_ev = int(ff.get("n_events", 0)) if "n_events" in ff else None
    return {
        "title": f"Calibration {run:05d}: flat-field",
        "caption": (f"Calibration run {run:05d}: flat-field charge per pixel in photo-electrons (n_pe of the "
                    f"calibration file, per gain{'; camera view of the high gain' if geom is not None else ''}"
                    f"{f'; {n_ev} flat-field events' if n_ev else ''}). High gain median {hg:.1f} p.e., "
                    f"spread {hg_spread:.1f} p.e.; {int(unusable.any(axis=0).sum())} unusable pixels."),
        "values": {"median_pe_high_gain": hg, "unusable_pixels": int(unusable.any(axis=0).sum())},
    }


def plot_pedestal(cal: dict, ped: dict, run: int, path: Path, geom) -> dict:
    np, plt = _np(), _plt()
    dc_to_pe = np.asarray(cal["dc_to_pe"], dtype=float)
    mean_pe = np.asarray(ped["charge_mean"], dtype=float) * dc_to_pe
    std_pe = np.asarray(ped["charge_std"], dtype=float) * dc_to_pe
    ncols = 3 if geom is not None else 2
    fig, axes = plt.subplots(1, ncols, figsize=(5 * ncols, 4.5), squeeze=False)
    _per_gain_hist(axes[0, 0], mean_pe, "pedestal charge mean per pixel (p.e.)", np)
    _per_gain_hist(axes[0, 1], std_pe, "pedestal charge std (noise) per pixel (p.e.)", np)
    if geom is not None:
        _camera(axes[0, 2], geom, std_pe[0], "noise (p.e., high gain)", np, plt, cmap="magma")
    fig.suptitle(f"Calibration run {run:05d}: pedestal charge and noise per pixel")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    m, _ = _stats(mean_pe[0], np)
    s, _ = _stats(std_pe[0], np)
    n_ev = int(ped.get("n_events", 0))
    return {
        "title": f"Calibration {run:05d}: pedestal",
        "caption": (f"Calibration run {run:05d}: charge of the {n_ev} pedestal events per pixel, converted to "
                    f"p.e. with the run's dc_to_pe: mean (left) and standard deviation, i.e. noise (middle), per "
                    f"gain. High gain: median pedestal {m:.2f} p.e., median noise {s:.2f} p.e."),
        "values": {"median_pedestal_pe_high_gain": m, "median_noise_pe_high_gain": s},
    }


def plot_drs4_baseline(drs4_path, drs4_run: int, path: Path) -> dict:
    np, plt = _np(), _plt()
    row = read_table_row(drs4_path, "/r1/monitoring/drs4_baseline/tel_001")
    for col in ("baseline_mean", "baseline_std"):
        if col not in row:
            raise PlotError(f"{Path(drs4_path).name}: no column {col}")
    mean = np.asarray(row["baseline_mean"], dtype=float)  # (gains, pixels, capacitors), ADC counts
    std = np.asarray(row["baseline_std"], dtype=float)
    pix_mean = mean.mean(axis=-1)
    pix_spread = mean.std(axis=-1)  # capacitor-to-capacitor spread of the baseline
    pix_noise = std.mean(axis=-1)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    _per_gain_hist(axes[0], pix_mean, "baseline mean over capacitors (ADC)", np)
    _per_gain_hist(axes[1], pix_spread, "baseline spread over capacitors (ADC)", np)
    _per_gain_hist(axes[2], pix_noise, "mean noise per capacitor (ADC)", np)
    fig.suptitle(f"DRS4 pedestal run {drs4_run:05d}: baseline per pixel")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    noise, _ = _stats(pix_noise[0], np)
    spread, _ = _stats(pix_spread[0], np)
    return {
        "title": f"DRS4 {drs4_run:05d}: baseline",
        "caption": (f"DRS4 pedestal run {drs4_run:05d}: per pixel and gain, the baseline averaged over the "
                    f"{mean.shape[-1]} DRS4 capacitors (relative to the global offset), its spread over the "
                    f"capacitors, and the mean noise. High gain medians: spread {spread:.2f} ADC, "
                    f"noise {noise:.2f} ADC."),
        "values": {"median_noise_adc_high_gain": noise, "median_spread_adc_high_gain": spread},
    }


# --------------------------------------------------------------------------- drivers


def _guarded(name: str, out_dir: Path, make, entries: list, meta: dict) -> None:
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


def _loader(fn):
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


def make_run_plots(run: int, dl1_path, dl2_path, out_dir) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {"kind": "run", "run": int(run), "label": f"Run {int(run):05d}",
            "inputs": {"dl1": str(dl1_path), "dl2": str(dl2_path)}}
    dl1 = _loader(lambda: read_columns(dl1_path, DL1_NODE, ["dragon_time", "event_type", "intensity", "width",
                                                             "length", "r", "psi"]))
    dl2 = _loader(lambda: read_columns(dl2_path, DL2_NODE, ["gammaness"]))
    entries: list = []
    _guarded("event_rate", out_dir, lambda p: plot_event_rate(dl1(), run, p), entries, meta)
    _guarded("intensity", out_dir, lambda p: plot_intensity(dl1(), run, p), entries, meta)
    _guarded("image_parameters", out_dir, lambda p: plot_image_parameters(dl1(), run, p), entries, meta)
    _guarded("gammaness", out_dir, lambda p: plot_gammaness(dl2(), run, p), entries, meta)
    return write_manifest(out_dir, meta, entries)


def make_calibration_plots(run: int, calibration_path, drs4_path, drs4_run: int, out_dir) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {"kind": "calibration", "run": int(run), "drs4_run": int(drs4_run),
            "label": f"Calibration {int(run):05d}",
            "inputs": {"calibration": str(calibration_path), "drs4_pedestal": str(drs4_path)}}
    cal = _loader(lambda: read_table_row(calibration_path, "/tel_1/calibration"))
    ff = _loader(lambda: read_table_row(calibration_path, "/tel_1/flatfield"))
    ped = _loader(lambda: read_table_row(calibration_path, "/tel_1/pedestal"))
    geom = _loader(camera_geometry)
    entries: list = []
    _guarded("flatfield", out_dir, lambda p: plot_flatfield(cal(), ff(), run, p, geom()), entries, meta)
    _guarded("pedestal", out_dir, lambda p: plot_pedestal(cal(), ped(), run, p, geom()), entries, meta)
    _guarded("drs4_baseline", out_dir, lambda p: plot_drs4_baseline(drs4_path, drs4_run, p), entries, meta)
    return write_manifest(out_dir, meta, entries)


def write_manifest(out_dir: Path, meta: dict, entries: list) -> dict:
    """A plot directory's plots.json: its metadata and one entry per plot (made or failed)."""
    manifest = {**meta, "plots": entries}
    write_json(Path(out_dir) / MANIFEST, manifest)
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lstosa_snake.plots", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="per-run plots from the merged DL1 and DL2 files")
    r.add_argument("--run", type=int, required=True)
    r.add_argument("--dl1", required=True)
    r.add_argument("--dl2", required=True)
    r.add_argument("--out-dir", required=True)
    c = sub.add_parser("calibration", help="flat-field, pedestal and DRS4 baseline plots of a calibration pair")
    c.add_argument("--run", type=int, required=True, help="the calibration (CALI) run")
    c.add_argument("--calibration", required=True)
    c.add_argument("--drs4", required=True)
    c.add_argument("--drs4-run", type=int, required=True)
    c.add_argument("--out-dir", required=True)
    args = parser.parse_args(argv)
    if args.command == "run":
        manifest = make_run_plots(args.run, args.dl1, args.dl2, args.out_dir)
    else:
        manifest = make_calibration_plots(args.run, args.calibration, args.drs4, args.drs4_run, args.out_dir)
    errors = [p for p in manifest["plots"] if p.get("error")]
    print(f"lstosa-plots: {manifest['label']}: {len(manifest['plots']) - len(errors)} plots, {len(errors)} not available")
    return 0


if __name__ == "__main__":
    sys.exit(main())
