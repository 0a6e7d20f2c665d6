"""Read R0 sub-runs back with ``ctapipe_io_lst.LSTEventSource`` and summarise them as JSON.

``python -m lstosa_snake.synthetic.inspect_r0 R0_DIR [--max-events N]`` (in .venv-lst) prints
``{"Run01874.0000": {"n_events": ..., "event_types": {...}, "event_ids": [first, last],
"n_gains": {...}, "time_range_unix": [...]}, ...}`` for every stream-1 file found.
Every stream is read (``all_streams=True``), DRS4 corrections and pointing are off.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import warnings
from collections import Counter
from pathlib import Path


def summarise(path: Path, max_events=None) -> dict:
    import hashlib

    from ctapipe_io_lst import LSTEventSource

    digest = hashlib.sha256()
    types, gains = Counter(), Counter()
    ids, times = [], []
    from traitlets.config import Config

    config = Config({"LSTEventSource": {"MultiFiles": {"all_subruns": False, "all_streams": True}}})
    with LSTEventSource(
        path, config=config, apply_drs4_corrections=False, pointing_information=False, max_events=max_events,
    ) as source:
        for event in source:
            types[event.trigger.event_type.name] += 1
            gains[int(event.r1.tel[1].waveform.shape[0]) if event.r1.tel[1].waveform.ndim == 3 else 1] += 1
            ids.append(int(event.index.event_id))
            times.append(float(event.trigger.time.unix))
            digest.update(event.r0.tel[1].waveform.tobytes())
            digest.update(event.lst.tel[1].evt.first_capacitor_id.tobytes())
        run_id = int(source.local_run_id)
    return {
        "run": run_id,
        "n_events": len(ids),
        "event_types": dict(types),
        "n_gains": {str(k): v for k, v in gains.items()},
        "event_ids": [min(ids), max(ids)] if ids else None,
        "ids_sorted_unique": ids == sorted(set(ids)),
        "time_range_unix": [min(times), max(times)] if times else None,
        "content_sha256": digest.hexdigest(),  # raw waveforms + first capacitors, in event order
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("r0_dir", type=Path)
    p.add_argument("--max-events", type=int)
    args = p.parse_args(argv)
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    out = {}
    for path in sorted(args.r0_dir.glob("LST-1.1.Run*.fits.fz")):
        key = re.search(r"Run\d{5}\.\d{4}", path.name).group(0)
        out[key] = summarise(path, args.max_events)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
