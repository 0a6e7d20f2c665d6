"""The night's Cherenkov transparency, as lstchain_cherenkov_transparency adds it to the night-wise datacheck.

``lstchain_cherenkov_transparency`` fits the cosmic-ray intensity spectrum (dR/dI) of every sub-run
in the run-wise datacheck files and appends the table ``cosmics_intensity_spectrum`` (one row per
sub-run: ``runnumber``, ``subrun``, ``light_yield``, ``ZD_corrected_cosmics_rate_at_422_pe``, ...)
to ``DL1_datacheck_<date>.h5``. The workflow's rule ``cherenkov_transparency`` runs it on a copy of the
file in its staging directory (never on the final file), see workflow/rules/transparency.smk.

This module reads that table and draws the night page's plot (runs in the tools' environment)::

    python -m lstosa_snake.web.transparency plot --night-datacheck DL1_datacheck_20200127.h5 --date 20200127 --out-dir DIR

writes ``DIR/transparency.png`` (light yield and zenith-corrected rate at 422 p.e. per sub-run, one
colour per run) and ``DIR/plots.json`` (a night-wide entry whose caption gives each run's mean values).
Like :mod:`lstosa_snake.web.plots`, a plot that cannot be made becomes a placeholder with its reason.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from . import plotting

TABLE = "cosmics_intensity_spectrum"
#: the columns the plot and the per-run summary use (lstchain 0.12 names)
COLUMNS = ("runnumber", "subrun", "time", "light_yield", "ZD_corrected_cosmics_rate_at_422_pe",
           "ZD_corrected_cosmics_spectral_index", "cos_zenith")


def read_table(path) -> dict:
    """{column: numpy array} of the transparency table; PlotError when the file has none."""
    import tables  # noqa: PLC0415 (tools' environment)

    np = plotting.import_numpy()
    with tables.open_file(str(path)) as h5:
        if f"/{TABLE}" not in h5:
            raise plotting.PlotError(f"{Path(path).name} has no {TABLE} table (lstchain_cherenkov_transparency not run)")
        table = h5.get_node(f"/{TABLE}/table")
        names = table.colnames
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise plotting.PlotError(f"{TABLE} lacks the columns {', '.join(missing)}")
        return {c: np.asarray(table.col(c)) for c in COLUMNS}


def _mean(values) -> float:
    finite = [float(v) for v in values if math.isfinite(float(v))]
    return sum(finite) / len(finite) if finite else float("nan")


def per_run(data: dict) -> dict[int, dict]:
    """{run: {subruns, light_yield, rate_at_422_pe}}: the mean over the run's sub-runs (finite values)."""
    out: dict[int, dict] = {}
    for i, run in enumerate(data["runnumber"]):
        row = out.setdefault(int(run), {"subruns": [], "light_yield": [], "rate_at_422_pe": []})
        row["subruns"].append(int(data["subrun"][i]))
        row["light_yield"].append(data["light_yield"][i])
        row["rate_at_422_pe"].append(data["ZD_corrected_cosmics_rate_at_422_pe"][i])
    return {run: {"subruns": sorted(r["subruns"]), "light_yield": _mean(r["light_yield"]),
                  "rate_at_422_pe": _mean(r["rate_at_422_pe"])} for run, r in sorted(out.items())}


def _fmt(v: float) -> str:
    return f"{v:.3g}" if math.isfinite(v) else "n/a"


def plot_transparency(data: dict, date: str, path: Path) -> dict:
    np, plt = plotting.import_numpy(), plotting.import_pyplot()
    runs = per_run(data)
    if not runs:
        raise plotting.PlotError("the transparency table is empty")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for run in runs:
        sel = data["runnumber"] == run
        order = np.argsort(data["subrun"][sel])
        for ax, col in zip(axes, ("light_yield", "ZD_corrected_cosmics_rate_at_422_pe")):
            ax.plot(data["subrun"][sel][order], data[col][sel][order], "o-", label=f"Run {run:05d}")
    axes[0].set_ylabel("light yield (1 = good-quality reference)")
    axes[1].set_ylabel("dR/dI at 422 p.e., ZD-corrected (events/s/p.e.)")
    for ax in axes:
        ax.set_xlabel("sub-run")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Cherenkov transparency, night {date} (lstchain_cherenkov_transparency)")
    fig.tight_layout()
    plotting.save_figure(fig, path)
    plt.close(fig)
    per = "; ".join(f"Run {run:05d}: light yield {_fmt(r['light_yield'])}, rate at 422 p.e. "
                    f"{_fmt(r['rate_at_422_pe'])} /s/p.e. ({len(r['subruns'])} sub-runs)" for run, r in runs.items())
    return {"title": f"Cherenkov transparency {date}",
            "caption": f"Cherenkov transparency per sub-run (mean per run: {per})",
            "runs": {f"{run:05d}": r for run, r in runs.items()}}


def make_transparency_plot(night_datacheck, date: str, out_dir) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {"kind": "night", "run": None, "label": f"Night {date}",
            "inputs": {"night_datacheck": str(night_datacheck)}}
    entries: list = []
    plotting.guarded("transparency", out_dir, lambda p: plot_transparency(read_table(night_datacheck), date, p),
                   entries, meta)
    return plotting.write_manifest(out_dir, meta, entries)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lstosa_snake.web.transparency", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plot", help="the night page's transparency plot and its plots.json")
    p.add_argument("--night-datacheck", required=True, type=Path)
    p.add_argument("--date", required=True)
    p.add_argument("--out-dir", required=True, type=Path)
    args = ap.parse_args(argv)
    manifest = make_transparency_plot(args.night_datacheck, args.date, args.out_dir)
    print(f"lstosa-transparency: {manifest['plots'][0]['caption']}")
    return 0  # a plot that could not be made is listed as a page problem; it does not fail the night


if __name__ == "__main__":
    sys.exit(main())
