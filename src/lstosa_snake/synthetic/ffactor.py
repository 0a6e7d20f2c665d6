"""A synthetic F-factor systematics file, in the format lstchain reads.

lstchain's ``lstchain_fit_intensity_scan`` (run by ``onsite_create_ffactor_systematics_file``) fits
the variance-vs-signal curve of an intensity scan per pixel and channel and writes an HDF5 file
with the datasets ``gain``, ``B_term`` (both shape (n_gains, n_pixels)), ``covariance_matrix``
(n_gains, n_pixels, 4), ``bad_fit_mask`` and, per channel, ``signal_HG``/``variance_HG``/
``runs_HG`` (the scan). The calibration calculator (``LSTCalibrationCalculator
.systematic_correction_path``) reads only ``B_term`` and corrects the F-factor gain:
``gain -= B_term**2 * signal / F2``. Here ``B_term`` is drawn around a chosen value; the other
datasets are filled consistently (a noise-free scan on the same curve) so the file looks like a
real one.

Written to ``<root>/monitoring/PixelCalibration/Cat-A/ffactor_systematics/<YYYYMMDD>/<version>/
ffactor_systematics_<YYYYMMDD>.h5`` (where LSTOSA looks it up). Runs in the tools' environment:

    .venv-lst/bin/python -m lstosa_snake.synthetic.ffactor --root DATA_ROOT --date 2020-01-27
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

N_GAINS = 2
N_PIXELS = 1855  # LSTCam (ctapipe_io_lst.constants.N_PIXELS)
F2 = 1.222  # squared excess noise factor lstchain assumes (LSTCalibrationCalculator default)
#: mean gain in ADC counts per p.e. of the fit, high and low gain (the synthetic camera's)
GAINS = (86.0, 86.0 / 17.2)


def systematics_path(root: Path, yyyymmdd: str, version: str = "pro") -> Path:
    return (Path(root) / "monitoring" / "PixelCalibration" / "Cat-A" / "ffactor_systematics"
            / yyyymmdd / version / f"ffactor_systematics_{yyyymmdd}.h5")


def write_ffactor_systematics(path: Path, b_term: float = 0.02, spread: float = 0.1, seed: int = 0,
                              runs=(1001, 1002, 1003, 1004, 1005)) -> Path:
    """Write the file; ``B_term`` ~ b_term * (1 +- spread), per channel and pixel."""
    import h5py
    import numpy as np

    rng = np.random.default_rng(seed)
    b = b_term * (1 + spread * rng.standard_normal((N_GAINS, N_PIXELS)))
    b = np.clip(b, 0.0, None)
    gain = np.array(GAINS)[:, None] * (1 + 0.05 * rng.standard_normal((N_GAINS, N_PIXELS)))
    # the scan: signal in ADC, variance = F2 * gain * signal + B^2 * signal^2 (what the fit models)
    signal = {0: np.geomspace(200, 20000, len(runs)), 1: np.geomspace(20, 2000, len(runs))}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as hf:
        hf.create_dataset("gain", data=gain)
        hf.create_dataset("B_term", data=b)
        hf.create_dataset("covariance_matrix", data=np.zeros((N_GAINS, N_PIXELS, 4)))
        hf.create_dataset("bad_fit_mask", data=np.zeros((N_GAINS, N_PIXELS), dtype=int))
        for chan, name in enumerate(("HG", "LG")):
            s = np.broadcast_to(signal[chan], (N_PIXELS, len(runs)))
            var = F2 * gain[chan][:, None] * s + (b[chan][:, None] * s) ** 2
            hf.create_dataset(f"signal_{name}", data=s)
            hf.create_dataset(f"variance_{name}", data=var)
            hf.create_dataset(f"runs_{name}", data=np.array(runs))
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, required=True, help="data tree (data_root)")
    p.add_argument("--date", required=True, help="date directory of the file, YYYY-MM-DD or YYYYMMDD")
    p.add_argument("--version", default="pro", help="version directory (LSTOSA looks up 'pro')")
    p.add_argument("--b-term", type=float, default=0.02, help="mean quadratic (B) term")
    p.add_argument("--spread", type=float, default=0.1, help="relative pixel-to-pixel spread of B")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    yyyymmdd = args.date.replace("-", "")
    path = write_ffactor_systematics(systematics_path(args.root, yyyymmdd, args.version),
                                     args.b_term, args.spread, args.seed)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
