"""A stand-in for the lstchain tools, for the operation tests only (nightly, status, reprocessing).

NOT the real tools: each fake writes small text files where the real tool would write its
products, so that the workflow's plumbing (Snakemake, the runner, merges, closing, failure
markers) can be exercised in seconds. The real tools are covered by the end-to-end tests.

Called as ``fake_lst_tool.py TOOL_NAME ARGS...`` by the shell wrappers that
``tests/fake_tools.py`` puts in a temporary ``tools_bin``. Behaviour switches, read from files
in that directory:

* ``FAIL``: lines ``<tool> <RUN>.<SUBRUN>`` (e.g. ``lstchain_data_r0_to_dl1 01874.0003``): fail.
* ``SLEEP``: lines ``<tool> <seconds>``: sleep that long first (to interrupt a night).
* ``CALLS``: every call is appended here (tool name and input file).
"""

import os
import re
import sys
import time
from pathlib import Path

HERE = Path(os.environ["FAKE_TOOLS_DIR"])  # the fake tools_bin (set by its wrappers)


def opt(args, *names):
    for i, a in enumerate(args):
        for n in names:
            if a == n and i + 1 < len(args):
                return args[i + 1]
            if a.startswith(n + "="):
                return a.split("=", 1)[1]
    return None


def write(path, text="fake product\n"):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def switch(name, tool):
    f = HERE / name
    if not f.is_file():
        return []
    return [line.split()[1] for line in f.read_text().splitlines() if line.split()[:1] == [tool]]


def main():
    tool, args = sys.argv[1], sys.argv[2:]
    inp = opt(args, "--input-file", "--input", "--input_file") or ""
    with open(HERE / "CALLS", "a") as fh:
        fh.write(f"{tool} {Path(inp).name}\n")
    for seconds in switch("SLEEP", tool):
        time.sleep(float(seconds))
    m = re.search(r"Run(\d{5})\.(\d{4})", inp)
    tag = f"{m.group(1)}.{m.group(2)}" if m else None
    if tag and tag in switch("FAIL", tool):
        print(f"fake {tool}: injected failure for {tag}", file=sys.stderr)
        return 1
    out_dir = opt(args, "--output-dir")
    out_file = opt(args, "--output-file", "--output", "--output_file")
    if tool == "lstchain_data_r0_to_dl1":
        run, sub = m.group(1), m.group(2)
        write(Path(out_dir) / f"dl1_LST-1.Run{run}.{sub}.h5")
        write(Path(out_dir) / f"muons_LST-1.Run{run}.{sub}.fits")
        write(Path(out_dir) / "interleaved" / f"interleaved_LST-1.Run{run}.{sub}.h5")
    elif tool == "lstchain_check_dl1":
        name = Path(inp).name
        if "*" in name:  # per run: a glob of the sub-runs' datacheck files
            run = re.search(r"Run(\d{5})", name).group(1)
            # like lstchain: the merged file next to the inputs, the PDF in --output-dir
            write(Path(inp).parent / f"datacheck_dl1_LST-1.Run{run}.h5")
            write(Path(out_dir) / f"datacheck_dl1_LST-1.Run{run}.pdf")
        else:
            write(Path(out_dir) / ("datacheck_" + name))
    elif tool == "lstchain_dl1_to_dl2":
        write(Path(out_dir) / Path(inp).name.replace("dl1_", "dl2_", 1))
    elif tool == "lstosa-create-run-summary":
        # the seed's text format (read by content): first run DRS4, second CALI, the rest DATA
        date = opt(args, "--date")
        r0 = Path(opt(args, "--r0-path")) / date
        runs = {}
        for f in r0.glob("LST-1.1.Run*.fits.fz"):
            mm = re.search(r"Run(\d{5})\.(\d{4})", f.name)
            runs[int(mm.group(1))] = max(runs.get(int(mm.group(1)), 0), int(mm.group(2)) + 1)
        day = f"{date[:4]}-{date[4:6]}-{date[6:]}"
        lines = []
        for i, (run, n) in enumerate(sorted(runs.items())):
            kind = "DRS4" if i == 0 else "CALI" if i == 1 else "DATA"
            lines.append(f"{run:05d} {n} {kind} {day} 21:{i:02d}:00 nan nan nan nan nan nan")
        write(Path(out_dir) / f"RunSummary_{date}.ecsv", "\n".join(lines) + "\n")
    elif tool == "lstosa-probe-run":
        # like the fake run summary: by run number, first DRS4, second PEDCALIB, the rest DATA
        import datetime as dt
        import json

        r0 = Path(opt(args, "--r0-dir"))
        every = sorted({int(re.search(r"Run(\d{5})", f.name).group(1)) for f in r0.glob("LST-1.1.Run*.fits.fz")})
        night = dt.datetime.strptime(r0.name, "%Y%m%d").replace(hour=21, tzinfo=dt.timezone.utc)
        wanted = [int(args[i + 1]) for i, a in enumerate(args) if a == "--run"]
        for run in wanted:
            i = every.index(run)
            start = int((night + dt.timedelta(minutes=i)).timestamp()) * 10**9
            print(json.dumps({"run_id": run, "run_type": "DRS4" if i == 0 else "PEDCALIB" if i == 1 else "DATA",
                              "data_format": "CTAR1", "evb_preprocessing": 0, "ucts_timestamp": -1, "run_start": start,
                              "dragon_reference_time": start, "dragon_reference_module_id": -1,
                              "dragon_reference_module_index": -1, "dragon_reference_counter": 2**64 - 1,
                              "dragon_reference_source": "run_start"}))
    elif tool == "lstchain_longterm_dl1_check":
        write(out_file)
        write(Path(out_file).with_suffix(".html"))
    elif out_file:
        write(out_file)
    else:
        print(f"fake {tool}: no output option in {args}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
