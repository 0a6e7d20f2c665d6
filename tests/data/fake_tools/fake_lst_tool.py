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
* ``NSB``: lines ``<RUN> <p.e./ns>`` (e.g. ``01875 0.4``): the extra NSB the fake tail-cut finder
  reports for that run (default 0.1: cleaning 8/4; from 0.3 on: 10/5).

The DL1b tools (lstchain_find_tailcuts, lstchain_create_cat_B_calibration_file, lstchain_dl1ab)
write what lstosa_snake.jobs.dl1b reads: the finder its dl1ab_RunNNNNN.json and its log with the NSB
lines, dl1ab a DL1b file that names its DL1a input, cleaning and Cat-B file; dl1_to_dl2 on such a
file copies it into the DL2 file after a first line "fake dl2", so a test can tell what a DL2 was
made from (on a DL1a, "fake product", it writes "fake product" as before).
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


RUN_TOOLS = ("lstchain_find_tailcuts", "lstchain_create_cat_B_calibration_file")


def run_of(tool, args):
    """The run (5 digits) a per-run tool works on."""
    if tool == "lstchain_find_tailcuts":
        return f"{int(opt(args, '-r', '--run')):05d}"
    return re.search(r"Run(\d{5})", opt(args, "--input_file_pattern") or "").group(1)


def find_tailcuts(args):
    """dl1ab_RunNNNNN.json and log_find_tailcuts_RunNNNNN.log in -o, like lstchain_find_tailcuts,
    with the run's extra NSB from the NSB switch (the real tool measures it in the DL1a files)."""
    import json

    run = run_of("lstchain_find_tailcuts", args)
    nsb = dict(line.split()[:2] for line in (HERE / "NSB").read_text().splitlines() if line.split()) \
        if (HERE / "NSB").is_file() else {}
    nsb = float(nsb.get(run, nsb.get(str(int(run)), 0.1)))
    picture, boundary = (10, 5) if nsb >= 0.3 else (8, 4)
    out = Path(opt(args, "-o", "--output-dir"))
    dl1 = sorted(Path(opt(args, "-d", "--input-dir")).glob(f"dl1_LST-1.Run{run}.*.h5"))
    config = {"tailcuts_clean_with_pedestal_threshold": {
        "picture_thresh": picture, "boundary_thresh": boundary, "sigma": 2.5, "keep_isolated_pixels": False,
        "min_number_picture_neighbors": 2, "use_only_main_island": False, "delta_time": 2},
        "dynamic_cleaning": {"apply": True, "threshold": 267, "fraction_cleaning_intensity": 0.03}}
    write(out / f"dl1ab_Run{run}.json", json.dumps(config, indent=2) + "\n")
    write(out / f"log_find_tailcuts_Run{run}.log",
          f"fake lstchain_find_tailcuts: {len(dl1)} DL1 sub-run files of run {run}\n"
          f"Median of 95% quantile of pedestal charge: {1.4 + 10 * nsb:.3f}\n"
          f"Additional NSB rate (over dark MC): {nsb:.4f}\n")


def main():
    tool, args = sys.argv[1], sys.argv[2:]
    inp = opt(args, "--input-file", "--input", "--input_file") or ""
    with open(HERE / "CALLS", "a") as fh:
        fh.write(f"{tool} {Path(inp).name}\n")
    for seconds in switch("SLEEP", tool):
        time.sleep(float(seconds))
    m = re.search(r"Run(\d{5})\.(\d{4})", inp)
    tag = f"{m.group(1)}.{m.group(2)}" if m else None
    if tag is None and tool in RUN_TOOLS:  # per-run tools: FAIL lines name the run (01874)
        tag = run_of(tool, args)
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
        text = Path(inp).read_text() if Path(inp).is_file() else ""
        made_from = f"fake dl2\nfrom: {Path(inp).resolve()}\n{text}" if text.startswith("fake dl1b") else "fake product\n"
        write(Path(out_dir) / Path(inp).name.replace("dl1_", "dl2_", 1), made_from)
    elif tool == "lstchain_find_tailcuts":
        find_tailcuts(args)
    elif tool == "lstchain_create_cat_B_calibration_file":
        inputs = sorted(Path(opt(args, "--input_path")).glob(opt(args, "--input_file_pattern")))
        if not inputs:
            print(f"fake {tool}: no interleaved files", file=sys.stderr)
            return 1
        write(out_file, f"fake Cat-B calibration of run {run_of(tool, args)}\n"
                        f"from {len(inputs)} interleaved files, Cat-A {opt(args, '--cat_A_calibration_file')}\n")
    elif tool == "lstchain_dl1ab":
        import json

        cleaning = json.loads(Path(opt(args, "--config")).read_text())["tailcuts_clean_with_pedestal_threshold"]
        catb = opt(args, "--catB-calibration-file")
        write(out_file, f"fake dl1b\ninput: {Path(inp).resolve()}\n"
                        f"cleaning: picture {cleaning['picture_thresh']} boundary {cleaning['boundary_thresh']}\n"
                        f"catB: {catb or 'none'}\nimages: {'no' if '--no-image' in args else 'yes'}\n")
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
        write(Path(out_file).with_suffix(".log"))  # the real tool's data-quality warnings
    elif out_file:
        write(out_file)
    else:
        print(f"fake {tool}: no output option in {args}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
