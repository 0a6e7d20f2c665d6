"""The plan of a synthetic night: which runs, when, how many events of which type.

Pure Python (no numpy) so that the workflow and tests can read ``night.json`` anywhere.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: ctapipe EventType values as written to CTA R1v1 ``Event.event_type``
EVENT_TYPE_NAMES = {0: "FLATFIELD", 2: "SKY_PEDESTAL", 32: "SUBARRAY"}

TAI_MINUS_UTC_S = 37  # valid since 2017-01-01

#: states of the raw data the generator writes (LSTOSA's --input-state; catA_calibrated not yet)
INPUT_STATES = ("gain_selected", "legacy_raw")


@dataclass
class RunPlan:
    run: int
    run_type: str  # DRS4, CALI or DATA (NightSummary spelling)
    n_subruns: int
    events_per_subrun: int
    start_unix: float  # run start (camera configuration time), UTC unix seconds
    rate_hz: float  # mean trigger rate
    flatfield_fraction: float = 0.0
    pedestal_fraction: float = 0.0
    gain_selection: bool = False  # event builder gain selection of physics events
    #: NSB p.e. per pixel and event of this run (None: the night's nsb_pe); the tail-cut finder reads it
    nsb_pe: float | None = None
    #: relative gain change since the calibration run, in every other module (gain_drift_factors):
    #: Cat-A calibration does not see it, the Cat-B calibration from interleaved events must
    gain_drift: float = 0.0
    # filled by the generator
    first_event: dict | None = None  # tai_ns, event_id, dragon_ns (+ module index/id), tib_ns of the first event
    last_event_unix: float | None = None
    events_per_type: dict = field(default_factory=dict)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.start_unix, dt.timezone.utc)

    def event_type(self, event_id: int) -> int:
        """Deterministic interleaving: event ids are 1-based and continue across sub-runs."""
        if self.run_type == "DRS4":
            return 32
        if self.pedestal_fraction > 0 and event_id % round(1 / self.pedestal_fraction) == 0:
            return 2
        if self.flatfield_fraction > 0 and (event_id + 1) % round(1 / self.flatfield_fraction) == 0:
            return 0
        return 0 if self.run_type == "CALI" else 32

    def subrun_event_ids(self, subrun: int) -> range:
        first = subrun * self.events_per_subrun + 1
        return range(first, first + self.events_per_subrun)

    def count_types(self, subrun: int) -> dict:
        counts: dict[str, int] = {}
        for eid in self.subrun_event_ids(subrun):
            name = EVENT_TYPE_NAMES[self.event_type(eid)]
            counts[name] = counts.get(name, 0) + 1
        return counts


@dataclass
class NightPlan:
    date: dt.date
    seed: int
    runs: list[RunPlan]
    flatfield_pe: float = 80.0
    nsb_pe: float = 0.3
    data_format: str = "CTAR1"  # or "LSTCAM" (EVBv5): r0.DATA_FORMATS
    #: what the event builder did to DATA runs: INPUT_STATES (night/input_state.py reads it back)
    input_state: str = "gain_selected"
    electronics: dict = field(default_factory=dict)
    pointing: dict = field(default_factory=dict)
    generator: str = "lstosa_snake.synthetic"

    @property
    def yyyymmdd(self) -> str:
        return self.date.strftime("%Y%m%d")

    def to_json(self) -> dict:
        d = asdict(self)
        d["date"] = self.date.isoformat()
        for r, run in zip(d["runs"], self.runs):
            r["start_utc"] = run.start.isoformat()
            r["events_per_subrun_per_type"] = [run.count_types(s) for s in range(run.n_subruns)]
            r["lstchain_run_type"] = {"CALI": "PEDCALIB"}.get(run.run_type, run.run_type)
        return d

    def write(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> "NightPlan":
        d = json.loads(Path(path).read_text())
        fields_run = RunPlan.__dataclass_fields__
        runs = [RunPlan(**{k: v for k, v in r.items() if k in fields_run}) for r in d["runs"]]
        return cls(
            date=dt.date.fromisoformat(d["date"]), seed=d["seed"], runs=runs,
            flatfield_pe=d["flatfield_pe"], nsb_pe=d["nsb_pe"], data_format=d.get("data_format", "CTAR1"),
            input_state=d.get("input_state", "gain_selected"),
            electronics=d.get("electronics", {}), pointing=d.get("pointing", {}),
        )


def make_plan(
    date: dt.date,
    seed: int = 0,
    first_run: int = 1872,
    data_runs: int = 2,
    subruns: int = 2,
    events_per_subrun: int = 200,
    drs4_events: int = 1000,
    cali_events: int = 1000,
    flatfield_pe: float = 80.0,
    data_format: str = "CTAR1",
    interleaved_fraction: float = 0.04,
    data_nsb_pe: list[float] | None = None,
    data_gain_drift: list[float] | None = None,
    input_state: str = "gain_selected",
) -> NightPlan:
    """Runs through the evening of ``date`` (UTC): DRS4 at ~20:05, calibration run
    ~5 min later, DATA runs from ~20:20 every 20 min (LST runs last ~20 min; ours hold
    only a few seconds of events each, so there are gaps between runs).

    ``interleaved_fraction``: share of interleaved pedestal and, as much, flat-field events in DATA
    runs (real runs: 100 Hz each; lstchain_find_tailcuts needs >= 100 pedestals per sub-run).
    ``data_nsb_pe`` / ``data_gain_drift``: per DATA run (the last value repeats), see RunPlan.
    ``input_state``: ``gain_selected`` (the event builder kept one gain of physics events), ``legacy_raw``
    (both gains, as before the event builder selected them; EVBv5 files always are)."""
    if input_state not in INPUT_STATES:
        raise ValueError(f"unknown input state {input_state!r} ({', '.join(INPUT_STATES)})")
    if data_format == "LSTCAM" and input_state != "legacy_raw":
        input_state = "legacy_raw"  # EVBv5 files hold both gains
    if drs4_events < 500:
        raise ValueError("a DRS4 run needs >= 500 events (lstchain's run-type guess reads 500)")
    evening = dt.datetime.combine(date, dt.time(20, 0), tzinfo=dt.timezone.utc).timestamp()
    # a few seconds of jitter so times do not look hand-made, deterministic in the seed
    jitter = (seed * 7919) % 47
    runs = [
        RunPlan(first_run, "DRS4", 1, drs4_events, evening + 5 * 60 + 31 + jitter, rate_hz=1000.0),
        RunPlan(
            first_run + 1, "CALI", 1, cali_events, evening + 10 * 60 + 3 + jitter, rate_hz=100.0,
            pedestal_fraction=0.2,
        ),
    ]
    for i in range(data_runs):
        runs.append(
            RunPlan(
                first_run + 2 + i, "DATA", subruns, events_per_subrun,
                evening + 20 * 60 + 13 + jitter + i * 20 * 60,
                # a sub-run holds ~10 s of data
                rate_hz=events_per_subrun / 10.0,
                flatfield_fraction=interleaved_fraction, pedestal_fraction=interleaved_fraction,
                gain_selection=input_state != "legacy_raw", nsb_pe=_nth(data_nsb_pe, i), gain_drift=_nth(data_gain_drift, i) or 0.0,
            )
        )
    if data_format not in ("CTAR1", "LSTCAM"):
        raise ValueError(f"unknown data format {data_format!r} (CTAR1 or LSTCAM)")
    return NightPlan(date=date, seed=seed, runs=runs, flatfield_pe=flatfield_pe, data_format=data_format,
                     input_state=input_state)


def _nth(values, i):
    """values[i], the last value for later runs, None without values."""
    return values[min(i, len(values) - 1)] if values else None
