"""``lstosa-make-models``: a tiny, structurally valid random-forest model set for
``lstchain_dl1_to_dl2``, trained by lstchain's own ``lstchain_mc_trainpipe``.

The training input is a pair of MC-like DL1 parameter tables (gammas and protons) that
this module draws from simple parametrisations -- no air-shower simulation, so the
models are physically meaningless, but they have exactly the features, file layout and
metadata that the real tool chain expects (energy regressor, disp norm regressor, disp
sign classifier, gamma/hadron classifier, plus ``training_dirs.ecsv`` so that the
cos(zenith) interpolation of dl1_to_dl2 is exercised).

Cached: ``DIR/lstosa_models_stamp.json`` holds a hash of every input (parameters, the
lstchain config file, the lstchain version and this file); if it matches and all model
files exist, nothing is done.

Runs in the tools' environment (.venv-lst).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

MODEL_FILES = ("reg_energy.sav", "reg_disp_norm.sav", "cls_disp_sign.sav", "cls_gh.sav")
STAMP = "lstosa_models_stamp.json"
DL1_PARAMS_KEY = "dl1/event/telescope/parameters/LST_LSTCam"
#: MC pointing nodes (zenith, azimuth) in degrees
POINTING_NODES = ((10.0, 102.2), (23.6, 175.2), (32.1, 248.0))
GAMMA, PROTON = 0, 101
WOBBLE_DEG = 0.4


def _trainpipe() -> str:
    exe = Path(sys.executable).with_name("lstchain_mc_trainpipe")
    return str(exe) if exe.exists() else "lstchain_mc_trainpipe"


def input_hash(seed: int, n_events: int, config: Path | None) -> str:
    from importlib.metadata import version

    h = hashlib.sha256()
    h.update(json.dumps({"seed": seed, "n_events": n_events, "nodes": POINTING_NODES,
                         "lstchain": version("lstchain")}, sort_keys=True).encode())
    h.update(Path(__file__).read_bytes())
    if config is not None:
        h.update(Path(config).read_bytes())
    return h.hexdigest()


def is_cached(output_dir: Path, digest: str) -> bool:
    stamp = output_dir / STAMP
    if not stamp.is_file() or not all((output_dir / f).is_file() for f in MODEL_FILES):
        return False
    try:
        return json.loads(stamp.read_text()).get("hash") == digest
    except ValueError:
        return False


def mc_table(rng, particle: int, n_events: int, focal_m: float):
    """One MC-like DL1 parameter table (pandas DataFrame), lstchain DL1 conventions:
    x, y, r in m; width, length in deg; psi, phi, angles in rad; energies in TeV."""
    import astropy.units as u
    import numpy as np
    import pandas as pd
    from lstchain.reco.utils import camera_to_altaz

    gamma = particle == GAMMA
    node = rng.integers(0, len(POINTING_NODES), n_events)
    zd = np.array([POINTING_NODES[i][0] for i in node])
    az = np.array([POINTING_NODES[i][1] for i in node])
    alt_tel, az_tel = np.deg2rad(90 - zd), np.deg2rad(az)

    log_e = rng.uniform(np.log10(0.02), np.log10(20 if gamma else 50), n_events)
    energy = 10**log_e
    cos_zd = np.cos(np.deg2rad(zd))
    # Cherenkov light: ~ 150 p.e. per 100 GeV gamma, protons ~3x dimmer, fainter at low elevation
    intensity = 1500 * energy**1.1 * cos_zd**1.5 * (1.0 if gamma else 0.35)
    intensity *= rng.lognormal(0, 0.25, n_events)
    intensity = np.clip(intensity, 20, None)
    log_i = np.log10(intensity)

    deg_per_m = np.rad2deg(1 / focal_m)
    if gamma:
        width = 0.03 + 0.012 * (log_i - 2) + 0.006 * rng.standard_normal(n_events)
        length = 0.08 + 0.05 * (log_i - 2) + 0.02 * rng.standard_normal(n_events)
        # source in wobble position, 0.4 deg from the camera centre
        src_angle = rng.uniform(0, 2 * np.pi, n_events)
        src_r = WOBBLE_DEG / deg_per_m
    else:
        width = 0.07 + 0.03 * (log_i - 2) + 0.02 * rng.standard_normal(n_events)
        length = 0.15 + 0.07 * (log_i - 2) + 0.04 * rng.standard_normal(n_events)
        src_angle = rng.uniform(0, 2 * np.pi, n_events)
        src_r = np.sqrt(rng.uniform(0, 1, n_events)) * 2.5 / deg_per_m
    width = np.clip(width, 0.01, None)
    length = np.maximum(np.clip(length, 0.02, None), width)
    src_x, src_y = src_r * np.cos(src_angle), src_r * np.sin(src_angle)

    # image centroid displaced from the source along the image axis
    disp_deg = np.clip(0.2 + 0.25 * (log_i - 2) + 0.1 * rng.standard_normal(n_events), 0.05, 1.6)
    psi_true = rng.uniform(-np.pi, np.pi, n_events)
    x = src_x + disp_deg / deg_per_m * np.cos(psi_true)
    y = src_y + disp_deg / deg_per_m * np.sin(psi_true)
    psi_scatter = 0.05 if gamma else 0.6
    psi = psi_true + psi_scatter * rng.standard_normal(n_events)
    psi = (psi + np.pi / 2) % np.pi - np.pi / 2  # Hillas psi is defined modulo pi

    sky = camera_to_altaz(
        src_x * u.m, src_y * u.m, focal_m * u.m, alt_tel * u.rad, az_tel * u.rad
    )
    r = np.hypot(x, y)
    time_gradient = (8 * disp_deg - 1) * rng.choice([-1, 1], n_events) * (1 if gamma else 0.5)
    time_gradient += rng.normal(0, 1.5, n_events)
    leakage = np.clip((r - 0.9) * 2 + rng.normal(0, 0.02, n_events), 0, 1)
    skewness = 0.3 * (disp_deg - 0.3) + rng.normal(0, 0.2, n_events)

    df = pd.DataFrame({
        "obs_id": np.full(n_events, 1000 + particle, dtype=np.int64),
        "event_id": np.arange(1, n_events + 1, dtype=np.int64),
        "tel_id": np.ones(n_events, dtype=np.int64),
        "intensity": intensity,
        "log_intensity": log_i,
        "x": x, "y": y, "r": r, "phi": np.arctan2(y, x),
        "width": width, "length": length, "wl": width / length,
        "psi": psi,
        "skewness": skewness,
        "kurtosis": 2.5 + rng.normal(0, 0.4, n_events),
        "time_gradient": time_gradient,
        "intercept": rng.normal(20, 2, n_events),
        "leakage_intensity_width_1": leakage / 2,
        "leakage_intensity_width_2": leakage,
        "n_pixels": np.clip((intensity / 15).astype(int), 5, None),
        "n_islands": np.ones(n_events, dtype=np.int64),
        "alt_tel": alt_tel, "az_tel": az_tel,
        "mc_type": np.full(n_events, particle, dtype=np.int64),
        "mc_energy": energy,
        "log_mc_energy": log_e,
        "mc_alt": sky.alt.to_value(u.rad), "mc_az": sky.az.to_value(u.rad),
        "mc_alt_tel": alt_tel, "mc_az_tel": az_tel,
        "mc_core_x": rng.uniform(-300, 300, n_events), "mc_core_y": rng.uniform(-300, 300, n_events),
        "mc_h_first_int": rng.uniform(15e3, 35e3, n_events),
        "mc_x_max": rng.normal(300 if gamma else 250, 40, n_events),
    })
    df["sin_az_tel"] = np.sin(df["az_tel"])
    return df


def write_mc_file(path: Path, df):
    """DL1-like HDF5 file: the parameters table plus the LST-1 subarray description."""
    import warnings

    from ctapipe_io_lst import LSTEventSource

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df.to_hdf(path, key=DL1_PARAMS_KEY, format="table", mode="w")
        LSTEventSource.create_subarray(tel_id=1).to_hdf(path)


def make_models(output_dir: Path, seed: int = 0, n_events: int = 3000, config: Path | None = None,
                force: bool = False) -> bool:
    """Create (or keep, if cached) the model set; returns True if models were trained."""
    import numpy as np
    from astropy.table import Table
    import astropy.units as u

    output_dir = Path(output_dir)
    digest = input_hash(seed, n_events, config)
    if not force and is_cached(output_dir, digest):
        log.info("models in %s are up to date (hash %s)", output_dir, digest[:12])
        return False

    from ctapipe_io_lst import LSTEventSource

    focal_m = LSTEventSource.create_subarray(tel_id=1).tel[1].optics.effective_focal_length.to_value(u.m)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 424242]))
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lstosa_models_") as tmp:
        gamma = Path(tmp) / "dl1_gamma_synthetic.h5"
        proton = Path(tmp) / "dl1_proton_synthetic.h5"
        write_mc_file(gamma, mc_table(rng, GAMMA, n_events, focal_m))
        write_mc_file(proton, mc_table(rng, PROTON, n_events, focal_m))
        cmd = [_trainpipe(), "--fg", str(gamma), "--fp", str(proton), "-o", str(output_dir)]
        if config is not None:
            cmd += ["-c", str(config)]
        log.info("running %s", " ".join(cmd))
        subprocess.run(cmd, check=True)
    missing = [f for f in MODEL_FILES if not (output_dir / f).is_file()]
    if missing:
        raise RuntimeError(f"lstchain_mc_trainpipe did not write {missing} in {output_dir}")
    nodes = Table(
        {"zd": [n[0] for n in POINTING_NODES] * u.deg, "az": [n[1] for n in POINTING_NODES] * u.deg}
    )
    nodes.write(output_dir / "training_dirs.ecsv", overwrite=True)
    (output_dir / STAMP).write_text(json.dumps(
        {"hash": digest, "seed": seed, "n_events": n_events, "config": str(config) if config else None,
         "note": "synthetic MC-like training tables: models are structurally valid, physically meaningless"},
        indent=2) + "\n")
    return True


def main(argv=None):
    p = argparse.ArgumentParser(prog="lstosa-make-models", description=__doc__.split("\n\n")[0])
    p.add_argument("--output-dir", "-o", type=Path, required=True, help="directory for the *.sav models")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-events", type=int, default=3000, help="events per particle type")
    p.add_argument("--config", "-c", type=Path, help="lstchain JSON config (RF parameters and features)")
    p.add_argument("--force", action="store_true", help="retrain even if the cached models match")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    trained = make_models(args.output_dir, args.seed, args.n_events, args.config, args.force)
    print(f"models {'trained' if trained else 'up to date'} in {args.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
