"""Our own datacheck plots (PNG) from the workflow's real products, for the night page and the report.

Runs in the tools' environment (numpy, PyTables, matplotlib with the Agg backend)::

    python -m lstosa_snake.web.plots run --run 1874 --dl1 dl1_LST-1.Run01874.h5 --dl2 dl2_LST-1.Run01874.h5 --out-dir DIR
    python -m lstosa_snake.web.plots calibration --run 1873 --calibration calibration_filters_52.Run01873.0000.h5 \
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
import sys

from lstosa_snake.web.calibration_plots import make_calibration_plots
from lstosa_snake.web.run_plots import make_run_plots


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lstosa_snake.web.plots", description=__doc__.split("\n\n")[0])
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
