"""The Cat-A calibration PDFs LSTOSA's calibration scripts write and its copy_datacheck publishes.

lstchain's ``onsite_create_drs4_pedestal_file`` and ``onsite_create_calibration_file`` end by drawing
their product with lstchain's own plotting functions into ``<version>/log/<product>.pdf``; the workflow
runs the lstchain tools themselves, so it draws the same PDFs with the same functions here (run in the
tools' environment, through the runner: the PDF appears complete or not at all)::

    python -m lstosa_snake.jobs.calibration_pdfs drs4 --r0 LST-1.1.Run01872.0000.fits.fz \
        --pedestal drs4_pedestal.Run01872.0000.h5 --run 1872 --output drs4.pdf
    python -m lstosa_snake.jobs.calibration_pdfs calibration --calibration calibration_filters_52.Run01873.0000.h5 \
        --run 1873 --output calibration.pdf
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TEL_ID = 1
#: the DRS4 baseline offset lstchain's onsite script passes (raw ADC)
OFFSET_ADC = 400


#: events of the DRS4 run the baselines are drawn from (lstchain's default)
SAMPLE_SIZE = 1000


def count_events(stream1: Path) -> int:
    """Events in a sub-run's four stream files (the DRS4 run's first sub-run)."""
    from protozfits import File

    total = 0
    for s in (1, 2, 3, 4):
        path = Path(str(stream1).replace("LST-1.1.", f"LST-1.{s}."))
        if path.is_file():
            with File(str(path)) as f:
                total += len(f.Events)
    return total


def drs4_pdf(r0: Path, pedestal: Path, run: int, output: Path) -> None:
    from lstchain.visualization import plot_drs4

    # lstchain draws nothing from a run shorter than its sample (a synthetic or a cut DRS4 run): use what there is
    sample = min(SAMPLE_SIZE, max(count_events(r0) - 10, 10))
    plot_drs4.plot_pedestals(str(r0), str(pedestal), run, str(output), tel_id=TEL_ID, offset_value=OFFSET_ADC,
                             sample_size=sample)


def calibration_pdf(calibration: Path, run: int, output: Path) -> None:
    from lstchain.io.calibration import read_calibration_file
    from lstchain.visualization import plot_calib

    mon = read_calibration_file(str(calibration), TEL_ID)
    plot_calib.plot_calibration_results(mon.pedestal, mon.flatfield, mon.calibration, run, str(output), "Cat-A")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    p = sub.add_parser("drs4", help="the DRS4 baseline's PDF (pedestal-subtracted baselines of the DRS4 run)")
    p.add_argument("--r0", required=True, type=Path, help="the DRS4 run's stream-1 file")
    p.add_argument("--pedestal", required=True, type=Path)
    p.add_argument("--run", required=True, type=int)
    p.add_argument("--output", required=True, type=Path)
    p = sub.add_parser("calibration", help="the charge calibration's PDF (pedestal, flat-field, coefficients)")
    p.add_argument("--calibration", required=True, type=Path)
    p.add_argument("--run", required=True, type=int)
    p.add_argument("--output", required=True, type=Path)
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    if args.kind == "drs4":
        drs4_pdf(args.r0, args.pedestal, args.run, args.output)
    else:
        calibration_pdf(args.calibration, args.run, args.output)
    if not args.output.is_file():
        print(f"lstosa_snake.jobs.calibration_pdfs: lstchain wrote no {args.output}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
