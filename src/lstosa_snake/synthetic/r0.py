"""Writes LST-1 R0 sub-runs with protozfits, in the CTA R1v1 ("EVBv6") zfits format or
in the older EVBv5 format of LST data before Dec 2023.

One sub-run = four stream files ``LST-1.{1..4}.RunRRRRR.SSSS.fits.fz``, events
distributed round-robin (event_id 1 -> stream 1, 2 -> stream 2, ...).  R1v1 files hold
the tables ``DataStream``, ``CameraConfiguration`` and ``Events``; EVBv5 files
``CameraConfig`` and ``Events``.

Both formats store pixels and modules in readout order (``camera.pixel_id_map`` /
``camera.module_id_map``), not by id, like real files.
"""
from __future__ import annotations

import socket
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import protozfits
from protozfits.anyarray import numpy_to_any_array
from protozfits.R1v1_debug_pb2 import DebugCameraConfiguration, DebugEvent
from protozfits.R1v1_pb2 import CameraConfiguration, Event, TelescopeDataStream
from protozfits import ProtoR1_pb2 as evbv5
from ctapipe_io_lst.anyarray_dtypes import CDTS_AFTER_37201_DTYPE, DRAGON_COUNTERS_DTYPE, TIB_DTYPE
from ctapipe_io_lst.constants import CLOCK_FREQUENCY_KHZ, TriggerBits
from ctapipe_io_lst.evb_preprocessing import EVBPreprocessingFlag
from ctapipe_io_lst.event_time import CENTRAL_MODULE

from . import camera as cam
from .plan import TAI_MINUS_UTC_S, RunPlan

N_STREAMS = 4
ROWS_PER_TILE = 20
N_CHANNELS_MODULE = 8
#: data formats (RunSummary ``data_format`` spelling): CTA R1v1 and the EVBv5 format before Dec 2023
CTAR1, LSTCAM = "CTAR1", "LSTCAM"
DATA_FORMATS = (CTAR1, LSTCAM)
#: EVBv5 event builder version (> 37201: the reader unpacks the newer UCTS/CDTS layout)
EVBV5_IDAQ_VERSION = "37206"
#: Dragon counters restart when a module is configured; modules are configured one after
#: another (by module id), so their counters differ by CONFIG_STEP_NS per module (assumed
#: spacing) plus cable delays. Times from counters are exact only with the reference
#: module's own counters: using another module shifts them by microseconds.
CONFIG_STEP_NS = 4_000
#: module whose counter the NightSummary records: the camera's central module (lstchain and
#: ctapipe_io_lst computed Dragon times from it in 2020/21); not at data index 0 nor at index 132
REFERENCE_MODULE_ID = CENTRAL_MODULE
UCTS_ADDRESS = int(np.frombuffer(socket.inet_pton(socket.AF_INET, "10.0.100.123"), dtype=np.uint32)[0])

#: what the (simulated) event builder did to every event: baseline subtraction and the
#: DRS4 corrections (our waveforms carry no DRS4 artefacts, so declaring them done keeps
#: ctapipe_io_lst from "correcting" effects that are not in the data)
EVB_DRS4_DONE = (
    EVBPreprocessingFlag.BASELINE_SUBTRACTION
    | EVBPreprocessingFlag.DELTA_T_CORRECTION
    | EVBPreprocessingFlag.SPIKE_REMOVAL
)

TRIGGER_BITS = {
    cam.SUBARRAY: int(TriggerBits.MONO),
    cam.FLATFIELD: int(TriggerBits.CALIBRATION),
    cam.SKY_PEDESTAL: int(TriggerBits.PEDESTAL),
}


def r0_filename(run: int, subrun: int, stream: int) -> str:
    return f"LST-1.{stream}.Run{run:05d}.{subrun:04d}.fits.fz"


def tdp_actions(gain_selection: bool):
    """Trigger-dependent pre-processing table of the camera configuration and the
    per-trigger-type action.  Index 0 of the action array is the default, index i
    belongs to ``tdp_type[i - 1]``."""
    physics = EVB_DRS4_DONE | (EVBPreprocessingFlag.GAIN_SELECTION if gain_selection else 0)
    per_bits = {
        int(TriggerBits.MONO): physics,
        int(TriggerBits.CALIBRATION): EVB_DRS4_DONE,
        int(TriggerBits.CALIBRATION | TriggerBits.MONO): EVB_DRS4_DONE,
        int(TriggerBits.PEDESTAL): EVB_DRS4_DONE,
    }
    tdp_type = np.zeros(15, dtype=np.uint16)
    tdp_action = np.zeros(16, dtype=np.uint16)
    tdp_action[0] = physics
    for i, (bits, action) in enumerate(per_bits.items(), start=1):
        tdp_type[i - 1] = bits
        tdp_action[i] = action
    return tdp_type, tdp_action, per_bits


def camera_configuration(run: RunPlan):
    tdp_type, tdp_action, _ = tdp_actions(run.gain_selection)
    return CameraConfiguration(
        tel_id=1,
        local_run_id=run.run,
        config_time_s=int(run.start_unix),
        camera_config_id=1,
        num_modules=cam.N_MODULES,
        num_pixels=cam.N_PIXELS,
        num_channels=2,
        data_model_version="1.0",
        num_samples_nominal=cam.N_SAMPLES,
        pixel_id_map=numpy_to_any_array(cam.pixel_id_map().astype(np.uint16)),
        module_id_map=numpy_to_any_array(cam.module_id_map().astype(np.uint16)),
        debug=DebugCameraConfiguration(
            cs_serial="synthetic",
            evb_version="lstosa-snake-synthetic",
            cdhs_version="lstosa-snake-synthetic",
            tdp_type=numpy_to_any_array(tdp_type),
            tdp_action=numpy_to_any_array(np.zeros(16, dtype=np.uint16)),
            # the real event builder stores the actions in ttype_pattern (and
            # ctapipe_io_lst reads them from there)
            ttype_pattern=numpy_to_any_array(tdp_action),
        ),
    )


def camera_configuration_evbv5(run: RunPlan):
    """EVBv5 ``CameraConfig``: same camera, older data model (no trigger-dependent
    pre-processing: the reader applies all DRS4 corrections itself)."""
    return evbv5.CameraConfiguration(
        telescope_id=1,
        cs_serial="synthetic",
        configuration_id=run.run,
        date=int(run.start_unix),
        num_pixels=cam.N_PIXELS,
        num_samples=cam.N_SAMPLES,
        expected_pixels_id=numpy_to_any_array(cam.pixel_id_map().astype(np.uint16)),
        data_model_version="2",
        lstcam=evbv5.ProtoR1__LSTCam__pb2.LstCamConfig(
            idaq_version=EVBV5_IDAQ_VERSION,
            cdhs_version="lstosa-snake-synthetic",
            num_modules=cam.N_MODULES,
            expected_modules_id=numpy_to_any_array(cam.module_id_map().astype(np.uint16)),
            run_id=run.run,
        ),
    )


class RunClock:
    """Event times and hardware counters of one run (integer nanoseconds).

    ``t`` is the time since the camera configuration (run start); the TIB and the UCTS
    count from there, each Dragon module from the end of its own configuration
    (``module_offset_ns``, per data index). The NightSummary's Dragon reference counter is
    that of the central module (id 132, ``REFERENCE_MODULE_ID``), as the 2020-era tools took it.
    """

    def __init__(self, run: RunPlan, rng):
        self.start_tai_ns = (int(run.start_unix) + TAI_MINUS_UTC_S) * 1_000_000_000
        # first event ~1-2 s after the camera configuration
        self.t_ns = int(1e9 + rng.uniform(0, 1e9))
        self.rate_hz = run.rate_hz
        by_id = CONFIG_STEP_NS * np.arange(cam.N_MODULES) + rng.integers(0, 200, cam.N_MODULES)  # + cable delays
        self.module_offset_ns = by_id[cam.module_id_map()]
        self.tib_offset_ns = int(rng.integers(0, 1000))

    def advance(self, rng):
        self.t_ns += max(1000, int(rng.exponential(1e9 / self.rate_hz)))

    @property
    def tai_ns(self):
        return self.start_tai_ns + self.t_ns

    def dragon_counters(self, event_id):
        t = self.t_ns - self.module_offset_ns
        counters = np.zeros(cam.N_MODULES, dtype=DRAGON_COUNTERS_DTYPE)
        counters["pps_counter"] = t // 1_000_000_000
        counters["tenMHz_counter"] = (t % 1_000_000_000) // 100
        counters["event_counter"] = event_id
        counters["trigger_counter"] = event_id
        counters["local_clock_counter"] = (t * CLOCK_FREQUENCY_KHZ // 1_000_000).astype(np.uint64)
        return counters

    def tib(self, event_id, trigger_bits):
        t = self.t_ns + self.tib_offset_ns
        ten_mhz = (t % 1_000_000_000) // 100
        tib = np.zeros(1, dtype=TIB_DTYPE)
        tib["event_counter"] = event_id
        tib["pps_counter"] = t // 1_000_000_000
        tib["tenMHz_counter"] = [[ten_mhz & 0xFF, (ten_mhz >> 8) & 0xFF, (ten_mhz >> 16) & 0xFF]]
        tib["masked_trigger"] = trigger_bits
        return tib

    def cdts(self, event_id, trigger_bits):
        cdts = np.zeros(1, dtype=CDTS_AFTER_37201_DTYPE)
        cdts["timestamp"] = self.tai_ns
        cdts["address"] = UCTS_ADDRESS
        cdts["event_counter"] = event_id
        cdts["pps_counter"] = self.t_ns // 1_000_000_000
        cdts["clock_counter"] = (self.t_ns % 1_000_000_000) // 100
        cdts["trigger_type"] = trigger_bits
        cdts["num_in_bunch"] = (event_id - 1) % 10
        cdts["cdts_version"] = 1234
        return cdts


def make_event(run: RunPlan, event_id: int, rng, clock: RunClock, elec, ff_pe, nsb_pe, actions, data_format=CTAR1):
    etype = run.event_type(event_id)
    if etype == cam.SKY_PEDESTAL:
        waveform, truth = cam.pedestal_event(rng, elec, nsb_pe)
    elif etype == cam.FLATFIELD:
        waveform, truth = cam.flatfield_event(rng, elec, ff_pe, nsb_pe)
    elif run.run_type == "DRS4":  # camera closed, random trigger: noise only
        waveform, truth = cam.pedestal_event(rng, elec, 0.0)
    else:
        waveform, truth = cam.shower_event(rng, elec, nsb_pe)

    bits = TRIGGER_BITS[etype]
    action = int(actions[bits])
    counters = clock.dragon_counters(event_id)
    truth = {"event_id": event_id, "event_type": etype, **truth}
    if data_format == LSTCAM:
        return _evbv5_event(run, event_id, rng, clock, waveform, bits, counters), truth, counters
    if EVBPreprocessingFlag.GAIN_SELECTION in EVBPreprocessingFlag(action):
        waveform, pixel_status = cam.select_gain(waveform)
        num_channels = 1
    else:
        pixel_status = np.full(cam.N_PIXELS, 0b1100, dtype=np.uint8)
        num_channels = 2
    # pixels are stored in readout order (the reader puts them back by pixel id)
    readout = cam.pixel_id_map()
    waveform = np.ascontiguousarray(waveform[..., readout, :])
    pixel_status = pixel_status[readout]

    seconds, qns = divmod(clock.tai_ns, 1_000_000_000)
    event = Event(
        event_id=event_id,
        tel_id=1,
        local_run_id=run.run,
        event_type=etype,
        event_time_s=int(seconds),
        event_time_qns=int(qns * 4),
        num_channels=num_channels,
        num_pixels=cam.N_PIXELS,
        num_samples=cam.N_SAMPLES,
        pixel_status=numpy_to_any_array(pixel_status),
        waveform=numpy_to_any_array(waveform),
        first_cell_id=numpy_to_any_array(
            rng.integers(0, 4096, cam.N_MODULES * N_CHANNELS_MODULE).astype(np.uint16)
        ),
        module_hires_local_clock_counter=numpy_to_any_array(counters["local_clock_counter"].copy()),
        debug=DebugEvent(
            module_status=numpy_to_any_array(np.ones(cam.N_MODULES, dtype=np.uint8)),
            extdevices_presence=0b011,  # TIB and UCTS
            tdp_action=action,
            cdts_data=numpy_to_any_array(clock.cdts(event_id, bits).view(np.uint8)),
            tib_data=numpy_to_any_array(clock.tib(event_id, bits).view(np.uint8)),
            counters=numpy_to_any_array(counters.view(np.uint8)),
        ),
    )
    return event, truth, counters


def _evbv5_event(run: RunPlan, event_id: int, rng, clock: RunClock, waveform, bits, counters):
    """One EVBv5 ``CameraEvent``: both gains, no event-builder pre-processing; event
    times only from the UCTS/TIB/Dragon counters (ctapipe_io_lst's EventTimeCalculator)."""
    readout = cam.pixel_id_map()
    seconds, qns = divmod(clock.tai_ns, 1_000_000_000)
    return evbv5.CameraEvent(
        configuration_id=run.run,
        event_id=event_id,
        tel_event_id=event_id,
        trigger_time_s=int(seconds),
        trigger_time_qns=int(qns * 4),
        trigger_type=bits,
        waveform=numpy_to_any_array(np.ascontiguousarray(waveform[:, readout, :])),
        pixel_status=numpy_to_any_array(np.full(cam.N_PIXELS, 0b1100, dtype=np.uint8)),
        lstcam=evbv5.ProtoR1__LSTCam__pb2.LstCamEvent(
            module_status=numpy_to_any_array(np.ones(cam.N_MODULES, dtype=np.uint8)),
            extdevices_presence=0b011,  # TIB and UCTS
            tib_data=numpy_to_any_array(clock.tib(event_id, bits).view(np.uint8)),
            cdts_data=numpy_to_any_array(clock.cdts(event_id, bits).view(np.uint8)),
            counters=numpy_to_any_array(counters.view(np.uint8)),
            first_capacitor_id=numpy_to_any_array(
                rng.integers(0, 4096, cam.N_MODULES * N_CHANNELS_MODULE).astype(np.uint16)
            ),
            run_id=run.run,
        ),
    )


def write_subrun(
    directory: Path, run: RunPlan, subrun: int, rng, clock: RunClock, elec,
    ff_pe: float, nsb_pe: float, progress=None, data_format: str = CTAR1,
):
    """Write one sub-run (4 stream files); returns (truth rows, first-event info).

    The first-event info is what a NightSummary line records for the run: UCTS time of the
    first event with UCTS data, its event id, and the Dragon (``REFERENCE_MODULE_ID``) and TIB
    counters of that event."""
    directory.mkdir(parents=True, exist_ok=True)
    event_ids = run.subrun_event_ids(subrun)
    per_stream = -(-len(event_ids) // N_STREAMS)
    n_tiles = per_stream // ROWS_PER_TILE + 10
    _, _, actions = tdp_actions(run.gain_selection)
    if data_format not in DATA_FORMATS:
        raise ValueError(f"unknown data format {data_format!r} (expected one of {DATA_FORMATS})")
    config = camera_configuration(run) if data_format == CTAR1 else camera_configuration_evbv5(run)
    data_stream = TelescopeDataStream(sb_id=run.run, obs_id=run.run, waveform_offset=elec.offset, waveform_scale=1)
    truth_rows, first = [], None
    paths = [directory / r0_filename(run.run, subrun, s) for s in range(1, N_STREAMS + 1)]
    with ExitStack() as stack:
        streams = []
        for path in paths:
            f = stack.enter_context(
                protozfits.FlatProtobufZOFits(
                    n_tiles=n_tiles, rows_per_tile=ROWS_PER_TILE,
                    default_compression="lst", compression_block_size_kb=64 * 1024,
                )
            )
            f.open(str(path))
            if data_format == CTAR1:
                f.move_to_new_table("DataStream")
                f.write_message(data_stream)
                f.move_to_new_table("CameraConfiguration")
            else:
                f.move_to_new_table("CameraConfig")
            f.write_message(config)
            f.move_to_new_table("Events")
            streams.append(f)
        for i, event_id in enumerate(event_ids):
            if not (subrun == 0 and i == 0):
                clock.advance(rng)
            event, truth, counters = make_event(
                run, event_id, rng, clock, elec, ff_pe, nsb_pe, actions, data_format=data_format,
            )
            truth["true_time_tai_ns"] = clock.tai_ns  # the UCTS (TAI) time of the trigger
            if first is None:
                ref = cam.module_index(REFERENCE_MODULE_ID)
                first = {"tai_ns": clock.tai_ns, "event_id": event_id, "dragon_ns": _counter_ns(counters[ref]),
                         "dragon_module_index": ref, "dragon_module_id": REFERENCE_MODULE_ID,
                         "tib_ns": _tib_counter_ns(clock.tib(event_id, 0)[0])}
            streams[i % N_STREAMS].write_message(event)
            truth_rows.append(truth)
            if progress is not None:
                progress.update(1)
    return truth_rows, first


def _counter_ns(counter_row):
    return int(counter_row["pps_counter"]) * 1_000_000_000 + int(counter_row["tenMHz_counter"]) * 100


def _tib_counter_ns(tib_row):
    b = [int(x) for x in tib_row["tenMHz_counter"]]
    return int(tib_row["pps_counter"]) * 1_000_000_000 + (b[0] | b[1] << 8 | b[2] << 16) * 100
