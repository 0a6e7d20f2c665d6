"""A calibration pair's datacheck plots: flat-field and pedestal charge per pixel, DRS4 baseline."""

from __future__ import annotations

from pathlib import Path

from lstosa_snake.web.plotting import (
    GAINS,
    PlotError,
    camera_geometry,
    guarded,
    import_numpy,
    import_pyplot,
    loader,
    read_table_row,
    save_figure,
    write_manifest,
)


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
    np, plt = import_numpy(), import_pyplot()
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
    np, plt = import_numpy(), import_pyplot()
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
    np, plt = import_numpy(), import_pyplot()
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


def make_calibration_plots(run: int, calibration_path, drs4_path, drs4_run: int, out_dir) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {"kind": "calibration", "run": int(run), "drs4_run": int(drs4_run),
            "label": f"Calibration {int(run):05d}",
            "inputs": {"calibration": str(calibration_path), "drs4_pedestal": str(drs4_path)}}
    cal = loader(lambda: read_table_row(calibration_path, "/tel_1/calibration"))
    ff = loader(lambda: read_table_row(calibration_path, "/tel_1/flatfield"))
    ped = loader(lambda: read_table_row(calibration_path, "/tel_1/pedestal"))
    geom = loader(camera_geometry)
    entries: list = []
    guarded("flatfield", out_dir, lambda p: plot_flatfield(cal(), ff(), run, p, geom()), entries, meta)
    guarded("pedestal", out_dir, lambda p: plot_pedestal(cal(), ped(), run, p, geom()), entries, meta)
    guarded("drs4_baseline", out_dir, lambda p: plot_drs4_baseline(drs4_path, drs4_run, p), entries, meta)
    return write_manifest(out_dir, meta, entries)
