"""A run's datacheck plots from its merged DL1 and DL2: event rate per type, intensity, image parameters, gammaness."""

from __future__ import annotations

from pathlib import Path

from lstosa_snake.web.plotting import (
    COSMIC,
    DL1_NODE,
    DL2_NODE,
    EVENT_TYPES,
    PlotError,
    guarded,
    import_numpy,
    import_pyplot,
    loader,
    read_columns,
    save_figure,
    write_manifest,
)


def _event_type_label(t: int) -> str:
    return f"{EVENT_TYPES.get(int(t), 'type')} ({int(t)})"


def plot_event_rate(dl1: dict, run: int, path: Path) -> dict:
    np, plt = import_numpy(), import_pyplot()
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
    np, plt = import_numpy(), import_pyplot()
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
    np, plt = import_numpy(), import_pyplot()
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
    np, plt = import_numpy(), import_pyplot()
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


def make_run_plots(run: int, dl1_path, dl2_path, out_dir) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {"kind": "run", "run": int(run), "label": f"Run {int(run):05d}",
            "inputs": {"dl1": str(dl1_path), "dl2": str(dl2_path)}}
    dl1 = loader(lambda: read_columns(dl1_path, DL1_NODE, ["dragon_time", "event_type", "intensity", "width",
                                                             "length", "r", "psi"]))
    dl2 = loader(lambda: read_columns(dl2_path, DL2_NODE, ["gammaness"]))
    entries: list = []
    guarded("event_rate", out_dir, lambda p: plot_event_rate(dl1(), run, p), entries, meta)
    guarded("intensity", out_dir, lambda p: plot_intensity(dl1(), run, p), entries, meta)
    guarded("image_parameters", out_dir, lambda p: plot_image_parameters(dl1(), run, p), entries, meta)
    guarded("gammaness", out_dir, lambda p: plot_gammaness(dl2(), run, p), entries, meta)
    return write_manifest(out_dir, meta, entries)
