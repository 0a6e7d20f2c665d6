"""Run one lstchain tool so that final locations only ever hold complete files.

The tool writes into a private staging directory; only when it exits 0 and every expected file is
there (non-empty) are the files moved to their final paths with an atomic rename. A tool that fails
or is killed leaves nothing in the final location, and a re-run starts from a clean staging
directory (lstchain's r0_to_dl1, for one, refuses to overwrite).

Used by every rule that runs a tool::

    python -m lstosa_snake.jobs.runner --label "r0_to_dl1 run 01874 sub-run 0001" --log LOG \
        --staging-root DIR --out dl1_LST-1.Run01874.0001.h5=FINAL ... -- TOOL ARGS...

In the tool's arguments ``{staging}`` stands for the staging directory and ``{inputs}`` for a
directory of symbolic links to the ``--stage-input`` files (for tools that take a directory or a
glob pattern, so that they see exactly the chosen sub-runs). The command runs without a shell:
paths with spaces or shell metacharacters are passed as they are.

``--copy-input NAME=FILE`` copies FILE into the staging directory as NAME before the tool runs, for
tools that update a file in place (lstchain_cherenkov_transparency): the tool changes the copy, and
the updated copy replaces the final file by atomic rename like any output.

After a successful job a provenance record (tool, version, command, inputs, outputs, times, host)
is written atomically into ``<staging root>/../provenance/jobs/`` (:mod:`lstosa_snake.provenance.records`).
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lstosa_snake.jobs import layout
from lstosa_snake.provenance import records


class RunnerError(Exception):
    pass


def job_slug(label: str) -> str:
    """'r0_to_dl1 run 01874 sub-run 0001' -> 'r0_to_dl1_run_01874_sub-run_0001' (a file name)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label.strip())


def failure_marker(staging_root: Path, label: str) -> Path:
    """Where a failed job leaves its one-line reason: running_analysis/.../failures/<slug>.txt.

    Removed again when the job later succeeds, so what remains after a run are the failures that
    retries did not cure; the status view and the night report read them.
    """
    return Path(staging_root).parent / "failures" / f"{job_slug(label)}.txt"


def _tail(log_path: Path, n: int = 40) -> str:
    """The last meaningful line of the tool's log, to say why it failed in one line."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()[-n:]
    except OSError:
        return ""
    for line in reversed(lines):
        text = line.strip()
        if text and not text.startswith(("File ", "^", "~")) and "Traceback" not in text:
            return text[:300]
    return ""


def disk_full_note(path: Path, limit: int = 1 << 20) -> str:
    """' (no space left on ...)' when the filesystem of ``path`` is (nearly) full, else ''.

    A tool that fails because the output disk is full often cannot say so: its log is on the same
    disk. This turns the failure into a one-line reason the operator can act on.
    """
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        free = shutil.disk_usage(p).free
    except OSError:
        return ""
    return f" (no space left on the output disk: {free} bytes free at {p})" if free < limit else ""


def clear_stale_staging(staging_root: Path, slug: str) -> None:
    """Remove staging directories an earlier attempt of the same job left behind when it was killed
    (SIGKILL, node failure): partial products must not pile up in the work area. Only one instance of
    a job runs at a time (Snakemake's lock, the nightly's lock), so they are not in use."""
    try:
        entries = list(Path(staging_root).iterdir())
    except OSError:
        return
    for d in entries:
        if d.is_dir() and d.name.rsplit("--", 1)[0] == f"job-{slug}":
            shutil.rmtree(d, ignore_errors=True)


FITS_BLOCK = 2880  # every FITS file (R0 .fits.fz streams included) is a whole number of 2880-byte blocks


def check_fits_input(path: Path) -> str | None:
    """Why a raw FITS input cannot be complete (missing, empty, truncated), or None.

    The tools do not always say: lstchain's r0_to_dl1 silently skips an empty stream file (its
    events are lost) and crashes with a segfault on a truncated one.
    """
    try:
        size = Path(path).stat().st_size
    except OSError as exc:
        return f"raw file {path} cannot be read: {exc.strerror}"
    if size == 0:
        return f"raw file {path} is empty (0 bytes)"
    if size % FITS_BLOCK:
        return f"raw file {path} is truncated or corrupted ({size} bytes is not a whole number of 2880-byte FITS blocks)"
    return None


def move_into_place(src: Path, dst: Path) -> None:
    """Atomic rename of a complete file into its final path (copy+rename across filesystems)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():  # a tool "output" that is one of its staged inputs: copy, never link
        partial = dst.with_name(f".{dst.name}.partial")
        shutil.copyfile(src.resolve(), partial)
        os.replace(partial, dst)
        return
    try:
        os.replace(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        partial = dst.with_name(f".{dst.name}.partial")
        shutil.copyfile(src, partial)
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, dst)
        os.unlink(src)


OFFLINE_XDG = Path(__file__).parent / "xdg"


def tool_environment(base: dict | None = None) -> dict:
    """The tools' environment: astropy kept offline (no IERS downloads) unless asked otherwise."""
    env = dict(os.environ if base is None else base)
    if env.get("LSTOSA_ASTROPY_ONLINE") != "1":
        env["XDG_CONFIG_HOME"] = str(OFFLINE_XDG)
    env.setdefault("MPLBACKEND", "Agg")
    return env


def run_atomic(
    command: list[str],
    outputs: dict[str, Path],
    log_path: Path,
    staging_root: Path,
    label: str,
    stage_inputs: list[Path] = (),
    allow_empty: tuple[str, ...] = (),
    env: dict | None = None,
    check_fits: list[Path] = (),
    copy_inputs: dict[str, Path] | None = None,
) -> float:
    """Run ``command`` in a fresh staging dir; move ``outputs`` (name in staging -> final path).

    Returns the wall time in seconds; raises :class:`RunnerError` with a one-line message.
    """
    for path in check_fits:
        why = check_fits_input(path)
        if why:
            raise RunnerError(f"{label}: {why}; not run")
    try:
        return _run_atomic(command, outputs, log_path, staging_root, label, stage_inputs, allow_empty, env,
                           copy_inputs or {}, check_fits)
    except OSError as exc:  # e.g. ENOSPC while making the staging dir or moving a product into place
        raise RunnerError(f"{label}: {exc}{disk_full_note(staging_root)}") from None


def _run_atomic(command, outputs, log_path, staging_root, label, stage_inputs, allow_empty, env,
                copy_inputs=None, check_fits=()) -> float:
    staging_root.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    slug = job_slug(label)
    clear_stale_staging(staging_root, slug)
    staging = Path(tempfile.mkdtemp(prefix=f"job-{slug}--", dir=staging_root))
    try:
        inputs_dir = staging / "_inputs"
        if stage_inputs:
            inputs_dir.mkdir()
            for src in stage_inputs:
                src = Path(src)
                if not src.exists():
                    raise RunnerError(f"{label}: input {src} does not exist")
                (inputs_dir / src.name).symlink_to(src.resolve())
        for name, src in (copy_inputs or {}).items():  # a copy: the tool may update it in place
            if not Path(src).is_file():
                raise RunnerError(f"{label}: input {src} does not exist")
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, staging / name)
        args = [a.replace("{staging}", str(staging)).replace("{inputs}", str(inputs_dir)) for a in command]
        if os.sep in args[0]:  # the tool runs in the staging dir: a relative tool path must not move
            args[0] = os.path.abspath(args[0])
        # what the command names is recorded before the tool runs (its outputs do not exist yet)
        extra_inputs = list(check_fits) + list((copy_inputs or {}).values())
        record_inputs = _provenance_inputs(args, staging, stage_inputs, extra_inputs, log_path)
        started = time.time()
        t0 = time.monotonic()
        with open(log_path, "a") as log:
            log.write(f"# {label}\n# command: {subprocess.list2cmdline(args)}\n")
            log.flush()
            try:
                proc = subprocess.run(
                    args, stdout=log, stderr=subprocess.STDOUT, cwd=staging, env=tool_environment(env)
                )
            except FileNotFoundError:
                raise RunnerError(f"{label}: tool not found: {args[0]}") from None
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            why = _tail(log_path)
            code = proc.returncode
            status = f"exit {code}" if code > 0 else f"killed by {_signal_name(-code)}"
            raise RunnerError(f"{label} failed ({status}): {why}{disk_full_note(staging)}"
                              f" [log: {log_path}]")
        for name, final in outputs.items():
            produced = staging / name
            if not produced.is_file():
                raise RunnerError(f"{label}: the tool did not write {name}{disk_full_note(staging)} [log: {log_path}]")
            if produced.stat().st_size == 0 and name not in allow_empty:
                raise RunnerError(f"{label}: the tool wrote an empty {name}{disk_full_note(staging)} [log: {log_path}]")
        for name, final in outputs.items():
            move_into_place(staging / name, Path(final))
        _write_provenance(staging_root, slug, label, args, record_inputs, list(outputs.values()), started, log_path)
        return wall
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _provenance_inputs(args, staging, stage_inputs, extra, log_path):
    try:
        return records.command_inputs(args, staging, stage_inputs, extra)
    except Exception as exc:  # noqa: BLE001 (provenance must never fail the job: the record says so)
        _log_note(log_path, f"provenance: inputs not recorded: {exc}")
        return [{"path": "?", "role": "input", "error": str(exc)}]


def _write_provenance(staging_root, slug, label, args, inputs, outputs, started, log_path) -> None:
    try:
        record = records.job_record(label, slug, args, inputs, outputs, started, time.time(), log_path)
        records.write_job_record(staging_root, slug, record)
    except Exception as exc:  # noqa: BLE001 (the product is in place: a missing record must not fail it)
        _log_note(log_path, f"provenance: record not written: {exc}")


def _log_note(log_path, text: str) -> None:
    try:
        with open(log_path, "a") as log:
            log.write(f"# {text}\n")
    except OSError:
        pass


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _parse_out(spec: str) -> tuple[str, Path]:
    name, sep, final = spec.partition("=")
    if not sep or not name or not final:
        raise argparse.ArgumentTypeError(f"--out takes NAME=FINAL_PATH, got {spec!r}")
    return name, Path(final)


def _placements(args) -> tuple[dict[str, Path], dict[Path, tuple[str, Path]]]:
    """--out name -> where the file goes; handle -> (template, LSTOSA path) of the placed ones."""
    templates = {Path(h): str(t) for h, t in args.place}
    values = layout.layout_values({k: str(v) for k, v in args.layout}, args.layout_tailcuts, args.from_tailcuts)
    outputs, placed = {}, {}
    for name, final in args.out:
        if final in templates:
            real = layout.resolve(templates[final], values)
            placed[final] = (templates[final], real)
            final = real
        outputs[name] = final
    unused = set(templates) - set(placed)
    if unused:
        raise RunnerError(f"{args.label}: --place {sorted(map(str, unused))[0]} is not an --out path")
    return outputs, placed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", required=True, help="what runs, for messages (rule, run, sub-run)")
    parser.add_argument("--log", required=True, type=Path)
    parser.add_argument("--staging-root", required=True, type=Path)
    parser.add_argument("--out", action="append", type=_parse_out, default=[], metavar="NAME=FINAL")
    parser.add_argument("--stage-input", action="append", type=Path, default=[])
    parser.add_argument("--check-fits", action="append", type=Path, default=[], metavar="FILE",
                        help="raw FITS input that must be complete (non-empty, whole FITS blocks); else fail")
    parser.add_argument("--copy-input", action="append", type=_parse_out, default=[], metavar="NAME=FILE",
                        help="copy FILE into the staging directory as NAME (a file the tool updates)")
    parser.add_argument("--place", action="append", type=_parse_out, default=[], metavar="HANDLE=TEMPLATE",
                        help="write the --out whose final path is HANDLE at TEMPLATE (LSTOSA's tree, with"
                             " {dl1_prod_id}/{nsb_tuning}) and make HANDLE a link to it (jobs.layout)")
    parser.add_argument("--layout", action="append", type=_parse_out, default=[], metavar="KEY=VALUE",
                        help="a directory name of --place templates (dl1_prod_id, nsb_tuning)")
    parser.add_argument("--layout-tailcuts", type=Path, help="the run's tail-cut summary, for --from-tailcuts")
    parser.add_argument("--from-tailcuts", action="append", default=[], choices=layout.KEYS,
                        help="take this directory name from --layout-tailcuts")
    parser.add_argument("--pro-link", action="store_true",
                        help="Cat-A products: make <date>/pro a link to each output's version directory")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given after --")
    marker = failure_marker(args.staging_root, args.label)
    try:
        outputs, placed = _placements(args)
        wall = run_atomic(command, outputs, args.log, args.staging_root, args.label, args.stage_input,
                          check_fits=args.check_fits, copy_inputs=dict(args.copy_input))
        for handle, (template, real) in placed.items():
            for old in layout.place(handle, template, real):
                _log_note(args.log, f"removed {old}: this run's product is now {real}")
        for final in outputs.values() if args.pro_link else ():
            try:  # the product is good without it: a site's own pro directory is left alone, and said so
                layout.pro_link(final.parent)
            except layout.LayoutError as exc:
                _log_note(args.log, f"WARNING: {exc}")
    except (RunnerError, layout.LayoutError, OSError) as exc:
        if not isinstance(exc, RunnerError):
            exc = RunnerError(f"{args.label}: {exc}")
        print(f"ERROR: {exc}", file=sys.stderr)
        try:  # on a full disk the marker may stay empty: its name still tells which job failed
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(f"{exc}\n")
        except OSError as err:
            print(f"ERROR: cannot write the failure marker {marker}: {err.strerror}", file=sys.stderr)
        return 1
    marker.unlink(missing_ok=True)
    print(f"{args.label}: done in {wall:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
