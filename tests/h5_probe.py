"""Reads LST HDF5/FITS products in the tools' environment and prints facts as JSON.

Run as ``.venv-lst/bin/python tests/h5_probe.py FILE...``; the tests (in Snakemake's environment,
without pandas/PyTables) assert on what it prints.
"""

import json
import sys

import numpy as np
import pandas as pd
import tables

DL1 = "dl1/event/telescope/parameters/LST_LSTCam"
DL2 = "dl2/event/telescope/parameters/LST_LSTCam"


def describe(path):
    out = {"path": path}
    if path.endswith(".fits"):
        from astropy.table import Table

        t = Table.read(path)
        out.update(kind="fits", rows=len(t), columns=list(t.colnames))
        return out
    with tables.open_file(path) as f:
        out["nodes"] = sorted(n._v_pathname for n in f.walk_nodes("/") if not isinstance(n, tables.Group))
    for key, kind in ((DL2, "dl2"), (DL1, "dl1")):
        if "/" + key in out["nodes"]:
            df = pd.read_hdf(path, key)
            out.update(kind=kind, rows=len(df), columns=list(df.columns),
                       event_ids=[int(i) for i in df["event_id"]],
                       event_types={str(k): int(v) for k, v in df["event_type"].value_counts().items()})
            if kind == "dl2":
                g = df["gammaness"].to_numpy()
                out.update(gammaness_min=float(np.nanmin(g)), gammaness_max=float(np.nanmax(g)),
                           gammaness_nan=int(np.isnan(g).sum()),
                           reco_energy_positive=bool((df["reco_energy"] > 0).all()))
            break
    return out


def passing_filters(dl1_path, config_path):
    """Event ids of a DL1 file that lstchain's DL2 event filters keep (lstchain's own function)."""
    from lstchain.io.config import read_configuration_file
    from lstchain.reco.utils import filter_events

    config = read_configuration_file(config_path)
    df = pd.read_hdf(dl1_path, DL1)
    kept = filter_events(df, filters=config["events_filters"],
                         finite_params=config["energy_regression_features"]
                         + config["disp_regression_features"]
                         + config["particle_classification_features"]
                         + config["disp_classification_features"])
    return [int(i) for i in kept["event_id"]]


def table_digest(path, key):
    """sha256 of a product's table, rows ordered by event id, values rounded: equal content."""
    import hashlib

    df = pd.read_hdf(path, key).sort_values(["obs_id", "event_id"]).reset_index(drop=True)
    return {"rows": len(df), "sha256": hashlib.sha256(df.round(6).to_csv(index=False).encode()).hexdigest()}


if __name__ == "__main__":
    if sys.argv[1] == "--digest":
        print(json.dumps(table_digest(sys.argv[2], sys.argv[3])))
    elif sys.argv[1] == "--filtered":
        print(json.dumps(passing_filters(sys.argv[2], sys.argv[3])))
    else:
        print(json.dumps([describe(p) for p in sys.argv[1:]]))

