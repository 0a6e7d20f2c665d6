"""The state a night's raw data comes in, read from the raw files themselves.

LST-1 data has reached the on-site cluster in three states (LSTOSA's ``--input-state``):

- ``legacy_raw``: both gains of every pixel (EVBv5 files before Dec 2023, early R1v1 files). LSTOSA
  gain-selects the DATA sub-runs first (``lstchain_r0_to_r0g``, into ``R0G/<date>/``);
- ``gain_selected``: the event builder kept one gain per pixel for physics events;
- ``catA_calibrated``: the event builder also calibrated the waveforms to photo-electrons.

What a run is in, is decided from the stream-1 file of its first sub-run on disk: the camera
configuration (the event builder's pre-processing actions per trigger type, ``ttype_pattern``) and
the first physics events (``num_channels``, ``debug.tdp_action``). A night is in one state: DATA
runs that disagree, or a file that fits no state, are an error naming the run and the file.

The classification (:func:`classify`) is plain Python on the facts read; only :func:`read_facts`
needs protozfits (imported when a file is actually read, at most one file per DATA run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lstosa_snake.core.errors import LstosaError

LEGACY_RAW, GAIN_SELECTED, CATA_CALIBRATED = "legacy_raw", "gain_selected", "catA_calibrated"
STATES = (LEGACY_RAW, GAIN_SELECTED, CATA_CALIBRATED)
AUTO = "auto"

# ctapipe_io_lst.evb_preprocessing.EVBPreprocessingFlag / constants.TriggerBits (copied as numbers:
# the workflow's environment has no ctapipe)
GAIN_SELECTION_FLAG = 1 << 0
PE_CALIBRATION_FLAG = 1 << 6
MONO_TRIGGER = 1
SUBARRAY_EVENT = 32  # ctapipe EventType.SUBARRAY: physics events
#: physics events looked at per file: the first ones are enough (interleaved events are few)
EVENTS_TO_READ = 30


class InputStateError(LstosaError):
    pass


@dataclass(frozen=True)
class RawFacts:
    """What one raw file says about its state."""

    file: Path
    data_format: str  # CTAR1 (R1v1) or LSTCAM (EVBv5)
    mono_action: int | None = None  # the event builder's actions for MONO triggers (R1v1 only)
    physics_channels: frozenset = frozenset()  # num_channels of the physics events read
    physics_actions: frozenset = frozenset()  # debug.tdp_action of the physics events read


def classify(facts: RawFacts) -> str:
    """The state of one file, or InputStateError saying what was found."""
    name = facts.file.name
    if facts.data_format == "LSTCAM":
        return LEGACY_RAW  # EVBv5 stored both gains: LST's gain selection came with R1v1
    pe = (facts.mono_action or 0) & PE_CALIBRATION_FLAG or any(a & PE_CALIBRATION_FLAG for a in facts.physics_actions)
    if pe:
        return CATA_CALIBRATED
    if len(facts.physics_channels) > 1:
        raise InputStateError(f"{name}: physics events with {sorted(facts.physics_channels)} gains in one file: fits no input state")
    declared = None if facts.mono_action is None else bool(facts.mono_action & GAIN_SELECTION_FLAG)
    if facts.physics_channels:
        (channels,) = facts.physics_channels
        if channels not in (1, 2):
            raise InputStateError(f"{name}: physics events with {channels} gain channels: fits no input state")
        selected = channels == 1
        if declared is not None and declared != selected:
            raise InputStateError(
                f"{name}: the camera configuration declares {'no ' if not declared else ''}gain selection for"
                f" physics events, but they carry {channels} gain(s): fits no input state")
        return GAIN_SELECTED if selected else LEGACY_RAW
    if declared is None:
        raise InputStateError(f"{name}: no camera configuration actions and no physics event to tell its state from")
    return GAIN_SELECTED if declared else LEGACY_RAW


def read_facts(path: Path, events: int = EVENTS_TO_READ) -> RawFacts:
    """Read the camera configuration and the first physics events of a stream file."""
    import protozfits  # noqa: PLC0415 (only when a file is read)

    path = Path(path)
    try:
        with protozfits.File(str(path)) as f:
            tables = set(f.__dict__) if hasattr(f, "__dict__") else set()
            if "CameraConfiguration" not in tables and "CameraConfig" in tables:
                return RawFacts(path, "LSTCAM")
            config = f.CameraConfiguration[0]
            tdp_type = list(config.debug.tdp_type)
            pattern = list(config.debug.ttype_pattern)  # the actions (an event builder mix-up kept by the reader)
            mono = int(pattern[0]) & 0xFF if pattern else None
            for i, bits in enumerate(tdp_type, start=1):
                if int(bits) == MONO_TRIGGER and i < len(pattern):
                    mono = int(pattern[i]) & 0xFF
            channels, actions = set(), set()
            for n, event in enumerate(f.Events):
                if n >= events:
                    break
                if int(event.event_type) == SUBARRAY_EVENT:
                    channels.add(int(event.num_channels))
                    actions.add(int(event.debug.tdp_action) & 0xFF)
    except InputStateError:
        raise
    except Exception as exc:  # protozfits raises plain exceptions for any unreadable file
        raise InputStateError(f"{path}: not a readable LST-1 raw file ({type(exc).__name__}: {exc})") from None
    return RawFacts(path, "CTAR1", mono, frozenset(channels), frozenset(actions))


@dataclass
class NightState:
    """The night's state and where it was read (run -> (state, file))."""

    state: str
    source: str  # "config" (forced), "raw files", or "assumed" (no DATA file to read yet)
    per_run: dict[int, tuple[str, Path]] = field(default_factory=dict)
    #: EVBv5 files (before Dec 2023): lstchain_r0_to_r0g cannot read them (LSTOSA ran lst_dvr, which is
    #: not public); r0_to_dl1 reads them as they are and lstchain's reader selects the gain per event
    evbv5: bool = False

    @property
    def needs_gain_selection(self) -> bool:
        """Whether DATA sub-runs are gain-selected into R0G/ before r0_to_dl1 reads them."""
        return self.state == LEGACY_RAW and not self.evbv5

    @property
    def needs_calibration(self) -> bool:
        return self.state != CATA_CALIBRATED

    def describe(self) -> str:
        if self.source == "config":
            return f"{self.state} (set in the configuration)" + (", EVBv5 files" if self.evbv5 else "")
        if self.source == "assumed":
            return f"{self.state} (assumed: no DATA raw file to read yet)"
        runs = ", ".join(f"{r:05d}" for r in sorted(self.per_run))
        fmt = ", EVBv5 files: no R0G, the reader selects the gain" if self.evbv5 else ""
        return f"{self.state} (read from the raw files of run(s) {runs}{fmt})"


def night_state(setting: str, first_files: dict[int, Path], reader=read_facts, first_only: bool = False) -> NightState:
    """The night's state: ``setting`` when forced, else read from each DATA run's first file.

    ``first_files``: DATA run -> stream-1 file of its first sub-run on disk. Files without a table yet
    (empty: a copy that has not started; only the primary header: a writer that has not got further;
    the stand-ins of dry runs and of the fake-tool tests) are not read. ``first_only``: read one run's file. Without any file to read, the night is
    assumed ``gain_selected`` (the format LST-1 writes since 2023) until one arrives.
    """
    readable = {r: p for r, p in sorted(first_files.items()) if has_tables(p)}
    if first_only:
        readable = dict(list(readable.items())[:1])
    if setting in STATES:
        return NightState(setting, "config", evbv5=any(is_evbv5(p) for p in readable.values()))
    if setting != AUTO:
        raise InputStateError(f"input_state: {setting!r} is not one of {AUTO}, {', '.join(STATES)}")
    per_run, evbv5 = {}, False
    for run, path in readable.items():
        try:
            facts = reader(path)
            per_run[run] = (classify(facts), path)
        except InputStateError as exc:
            raise InputStateError(f"run {run:05d}: {exc}") from None
        evbv5 |= facts.data_format == "LSTCAM"
    if not per_run:
        return NightState(GAIN_SELECTED, "assumed")
    states = {s for s, _ in per_run.values()}
    if len(states) > 1:
        found = "; ".join(f"run {r:05d} {s} ({p.name})" for r, (s, p) in sorted(per_run.items()))
        raise InputStateError(f"the night's DATA runs are in different input states: {found}"
                              " (set input_state in the configuration to process them as one)")
    return NightState(states.pop(), "raw files", per_run, evbv5=evbv5)


def _head(path: Path) -> bytes:
    """The first FITS header blocks of a file (b"" when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            return f.read(64 * 2880)
    except OSError:
        return b""


def has_tables(path: Path) -> bool:
    """Whether a raw file has got past its primary header (a FITS extension header follows it)."""
    return b"XTENSION=" in _head(path)


def is_evbv5(path: Path) -> bool:
    """An EVBv5 file (table CameraConfig, not R1v1's CameraConfiguration), from its FITS headers only."""
    return b"EXTNAME = 'CameraConfig'" in _head(path)
