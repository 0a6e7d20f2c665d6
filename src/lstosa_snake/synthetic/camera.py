"""Toy LSTCam: geometry, pulse lookup table, photo-electron images and waveforms.

Everything here needs the science environment (.venv-lst: numpy, astropy, ctapipe,
ctapipe_io_lst).  Units: charges in photo-electrons (p.e.), times in ns (= samples,
LST samples at ~1 GHz), positions in metres in the camera frame of
``LSTEventSource.create_subarray``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

N_PIXELS = 1855
N_MODULES = 265
N_SAMPLES = 40
N_GAINS = 2
HIGH_GAIN, LOW_GAIN = 0, 1

#: excess noise factor squared of the photo-sensors (single-p.e. gain fluctuations)
F2 = 1.222
#: time step of the pulse lookup table (ns)
LUT_STEP = 0.02
#: event-builder gain selection: take low gain when the raw high-gain maximum exceeds this (ADC)
GAIN_SELECTION_THRESHOLD = 3500
ADC_MAX = 4095
N_PIXELS_MODULE = 7

#: seed of the camera's (fixed) module order; any night, any run: it is hardware, not data
_MODULE_ORDER_SEED = 20191010
#: module id the event builder lists first (at index 0), as in real LST-1 files
FIRST_MODULE_ID = 90


@lru_cache(maxsize=1)
def module_id_map() -> np.ndarray:
    """Module id at each data index (``CameraConfiguration.module_id_map`` /
    ``lstcam.expected_modules_id``): a fixed permutation of 0..264 with module id 90 at
    index 0. Real files list modules in readout order, not by id; every per-module array
    of an event (counters, module status, first capacitors) follows this order, so code
    that confuses a module id with an index picks the wrong module."""
    order = np.random.default_rng(_MODULE_ORDER_SEED).permutation(N_MODULES)
    order = np.concatenate([[FIRST_MODULE_ID], order[order != FIRST_MODULE_ID]])
    assert (order != np.arange(N_MODULES)).sum() > N_MODULES - 5
    order.setflags(write=False)
    return order


@lru_cache(maxsize=1)
def pixel_id_map() -> np.ndarray:
    """Pixel id at each data position: the 7 pixels of each module, in module order
    (LSTCam pixel ``7 * module_id + k`` belongs to module ``module_id``)."""
    ids = (module_id_map()[:, np.newaxis] * N_PIXELS_MODULE + np.arange(N_PIXELS_MODULE)).ravel()
    ids.setflags(write=False)
    return ids


def module_index(module_id: int) -> int:
    """Data index of ``module_id`` (inverse of :func:`module_id_map`)."""
    return int(np.flatnonzero(module_id_map() == module_id)[0])


@lru_cache(maxsize=1)
def lstcam():
    """(geometry, readout) of LST-1 as the LST event source describes them."""
    import warnings

    from ctapipe_io_lst import LSTEventSource

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        subarray = LSTEventSource.create_subarray(tel_id=1)
    camera = subarray.tel[1].camera
    return camera.geometry, camera.readout


@lru_cache(maxsize=1)
def pulse_lut():
    """Pulse lookup table, shape (n_gains, n_times, N_SAMPLES).

    ``lut[g, i]`` is the sampled waveform of a unit charge (area 1 p.e. x 1 ns) whose
    peak is at ``i * LUT_STEP`` ns.  Built once with ctapipe's ``WaveformModel`` from the
    camera's reference pulse shapes (one per gain); evaluating a waveform is then a
    gather instead of an interpolation (~100x faster).
    """
    import astropy.units as u
    from ctapipe.image.toymodel import WaveformModel

    _, readout = lstcam()
    times = np.arange(0, N_SAMPLES + LUT_STEP / 2, LUT_STEP)
    lut = np.empty((N_GAINS, len(times), N_SAMPLES), dtype=np.float32)
    for gain in range(N_GAINS):
        model = WaveformModel(
            reference_pulse=readout.reference_pulse_shape[gain][np.newaxis, :],
            reference_pulse_sample_width=readout.reference_pulse_sample_width,
            sample_width=1 * u.ns,
        )
        lut[gain] = model.get_waveform(np.ones(len(times)), times, N_SAMPLES)[0]
    return lut


def lut_index(peak_time):
    idx = np.rint(np.asarray(peak_time) / LUT_STEP).astype(np.intp)
    return np.clip(idx, 0, pulse_lut().shape[1] - 1)


@dataclass(frozen=True)
class Electronics:
    """Per-pixel response, fixed for a night (drawn from the night's seed)."""

    gain_hg: np.ndarray  # ADC per p.e., high gain
    gain_lg: np.ndarray  # ADC per p.e., low gain
    noise_hg: float  # ADC rms per sample
    noise_lg: float
    offset: int  # baseline after the event builder's baseline subtraction

    @classmethod
    def draw(cls, rng, gain_hg=86.0, hg_lg_ratio=17.2, spread=0.05, noise_hg=5.0, noise_lg=1.5, offset=400):
        ghg = gain_hg * (1 + spread * rng.standard_normal(N_PIXELS))
        ratio = hg_lg_ratio * (1 + 0.01 * rng.standard_normal(N_PIXELS))
        return cls(ghg, ghg / ratio, noise_hg, noise_lg, offset)

    @property
    def gains(self):
        return np.stack([self.gain_hg, self.gain_lg])

    def summary(self):
        return {
            "gain_hg_mean_adc_per_pe": float(self.gain_hg.mean()),
            "gain_hg_rms": float(self.gain_hg.std()),
            "gain_lg_mean_adc_per_pe": float(self.gain_lg.mean()),
            "gain_lg_rms": float(self.gain_lg.std()),
            "noise_hg_adc": self.noise_hg,
            "noise_lg_adc": self.noise_lg,
            "waveform_offset_adc": self.offset,
            "excess_noise_factor_squared": F2,
        }


def amplify(rng, n_pe):
    """Charge (in p.e.) after single-p.e. gain fluctuations: variance (F2 - 1) * n."""
    n_pe = np.asarray(n_pe, dtype=np.float64)
    charge = n_pe + np.sqrt((F2 - 1) * n_pe) * rng.standard_normal(n_pe.shape)
    return np.clip(charge, 0, None)


def waveforms(rng, elec: Electronics, charge, peak_time, nsb_pe=0.0):
    """Raw two-gain waveforms (uint16, shape (2, N_PIXELS, N_SAMPLES)) after the
    event builder's baseline subtraction (baseline = ``elec.offset``).

    ``charge`` in p.e. (after amplification) and ``peak_time`` in ns per pixel.
    NSB: Poisson(nsb_pe) single photo-electrons per pixel at a random time.
    """
    lut = pulse_lut()
    idx = lut_index(peak_time)
    out = np.empty((N_GAINS, N_PIXELS, N_SAMPLES), dtype=np.float32)
    if nsb_pe > 0:
        n_nsb = amplify(rng, rng.poisson(nsb_pe, N_PIXELS))
        nsb_idx = lut_index(rng.uniform(0, N_SAMPLES, N_PIXELS))
    for g, gain in enumerate((elec.gain_hg, elec.gain_lg)):
        wf = lut[g, idx] * (charge * gain)[:, np.newaxis]
        if nsb_pe > 0:
            wf += lut[g, nsb_idx] * (n_nsb * gain)[:, np.newaxis]
        noise = elec.noise_hg if g == HIGH_GAIN else elec.noise_lg
        wf += rng.normal(elec.offset, noise, size=wf.shape).astype(np.float32)
        out[g] = wf
    return np.clip(np.rint(out), 0, ADC_MAX).astype(np.uint16)


def select_gain(waveform):
    """Event-builder gain selection: per pixel keep high gain unless it is near saturation.

    Returns (waveform of shape (N_PIXELS, N_SAMPLES), pixel_status uint8 with
    0b0100 = high gain stored, 0b1000 = low gain stored).
    """
    use_lg = waveform[HIGH_GAIN].max(axis=1) > GAIN_SELECTION_THRESHOLD
    selected = np.where(use_lg[:, np.newaxis], waveform[LOW_GAIN], waveform[HIGH_GAIN])
    status = np.where(use_lg, 0b1000, 0b0100).astype(np.uint8)
    return selected, status


# --- event content ------------------------------------------------------------------

#: ctapipe EventType values used in CTA R1v1 ``Event.event_type``
FLATFIELD, SKY_PEDESTAL, SUBARRAY = 0, 2, 32


def pedestal_event(rng, elec, nsb_pe):
    charge = np.zeros(N_PIXELS)
    peak_time = np.full(N_PIXELS, N_SAMPLES / 2)
    return waveforms(rng, elec, charge, peak_time, nsb_pe), {"true_intensity_pe": 0.0}


def flatfield_event(rng, elec, ff_pe, nsb_pe):
    n_pe = rng.poisson(ff_pe, N_PIXELS)
    charge = amplify(rng, n_pe)
    peak_time = rng.normal(20.0, 0.3, N_PIXELS)
    return waveforms(rng, elec, charge, peak_time, nsb_pe), {"true_intensity_pe": float(n_pe.sum())}


def draw_shower(rng):
    """Toy shower parameters (camera frame, metres / degrees, p.e.)."""
    r = 0.8 * np.sqrt(rng.uniform())
    phi = rng.uniform(0, 2 * np.pi)
    width = rng.uniform(0.02, 0.06)
    length = width * rng.uniform(1.5, 4.0)
    # power law dN/dI ~ I^-2 between 100 and 5000 p.e.
    lo, hi = 100.0, 5000.0
    intensity = 1 / (1 / lo - rng.uniform() * (1 / lo - 1 / hi))
    return dict(
        x=r * np.cos(phi), y=r * np.sin(phi), width=width, length=length,
        psi=rng.uniform(-90, 90), intensity=intensity,
    )


def shower_event(rng, elec, nsb_pe):
    import astropy.units as u
    from ctapipe.image.toymodel import Gaussian

    geom, _ = lstcam()
    p = draw_shower(rng)
    model = Gaussian(p["x"] * u.m, p["y"] * u.m, p["length"] * u.m, p["width"] * u.m, p["psi"] * u.deg)
    expected = model.expected_signal(geom, p["intensity"])
    n_pe = rng.poisson(expected)
    charge = amplify(rng, n_pe)
    # arrival time gradient along the major axis, 1 ns per 10 cm
    psi = np.deg2rad(p["psi"])
    long = (geom.pix_x.to_value(u.m) - p["x"]) * np.cos(psi) + (geom.pix_y.to_value(u.m) - p["y"]) * np.sin(psi)
    peak_time = np.clip(20.0 + 10.0 * long, 5, 35)
    truth = {
        "true_intensity_pe": float(n_pe.sum()),
        "true_x_m": p["x"], "true_y_m": p["y"],
        "true_width_m": p["width"], "true_length_m": p["length"], "true_psi_deg": p["psi"],
        "model_intensity_pe": p["intensity"],
    }
    return waveforms(rng, elec, charge, peak_time, nsb_pe), truth
