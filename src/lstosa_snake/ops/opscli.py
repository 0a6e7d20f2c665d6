"""Command-line options shared by lstosa-nightly, lstosa-reprocess and lstosa-follow."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from lstosa_snake.core.errors import ConfigError
from lstosa_snake.night.opsconfig import parse_overrides

from .outlook import site_config_problem


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", help="Snakemake profile, e.g. profiles/slurm (default: local execution)")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="workflow config override, passed to Snakemake (repeatable)")
    parser.add_argument("--data-root", help="LST data tree (config data_root)")
    parser.add_argument("--output-root", help="where products go (config output_root)")
    parser.add_argument("--cores", help="Snakemake --cores (default: the profile's)")
    parser.add_argument("--jobs", help="Snakemake --jobs: at most this many jobs at once (SLURM: queued+running)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="stop Snakemake after this long (SIGTERM, then SIGKILL); the next run resumes")
    parser.add_argument("--kill-grace", type=float, default=60.0, metavar="SECONDS",
                        help="after the timeout's SIGTERM wait this long before SIGKILL (default 60)")
    parser.add_argument("--notify-cmd", metavar="CMD",
                        help="shell command run with the summary on stdin and LSTOSA_NIGHT, LSTOSA_PROD_ID, "
                             "LSTOSA_STATE, LSTOSA_EXIT_CODE, LSTOSA_LOG, LSTOSA_SUBJECT set")
    parser.add_argument("--notify-mail", metavar="ADDRESS", help="mail the summary (mail or sendmail)")
    parser.add_argument("--snakemake-args", default="", metavar="'ARGS'",
                        help="extra Snakemake options, one shell-quoted string ('-n' is --dry-run)")
    parser.add_argument("--configfile", metavar="FILE",
                        help="the site's YAML of config keys over config/config.yaml (data_root, models_dir, ...)")
    parser.add_argument("--dry-run", "-n", action="store_true",
                        help="show what would run (Snakemake's dry run); write nothing, take no lock")
    parser.add_argument("--progress-every", type=float, default=600.0, metavar="SECONDS",
                        help="when not on a terminal: a progress line this often (default 600); on a terminal "
                             "a status line is redrawn every second")


DRY_RUN_FLAGS = ("-n", "--dry-run", "--dryrun")


def join_option_values(argv: list[str], option: str = "--snakemake-args") -> list[str]:
    """``--snakemake-args '-n'`` as ``--snakemake-args=-n``: argparse reads a value that starts with
    '-' as an option of its own and refuses it."""
    out, it = [], iter(argv)
    for arg in it:
        if arg == option:
            value = next(it, None)
            out.append(arg if value is None else f"{option}={value}")
        else:
            out.append(arg)
    return out


def common_settings(args, what: str) -> tuple[dict, bool]:
    """Settings keywords shared by lstosa-nightly and lstosa-reprocess, and whether it is a dry run.
    Refuses (ConfigError) a command line without the site's configuration."""
    overrides = overrides_from(args)
    why = site_config_problem(overrides, args.configfile, what)
    if why:
        raise ConfigError(why)
    smk = shlex.split(args.snakemake_args)
    dry = args.dry_run or any(a in DRY_RUN_FLAGS for a in smk)
    return dict(
        overrides=overrides, profile=args.profile, cores=args.cores, jobs=args.jobs, timeout=args.timeout,
        kill_grace=args.kill_grace, notify_cmd=args.notify_cmd, notify_mail=args.notify_mail,
        snakemake_args=[a for a in smk if a not in DRY_RUN_FLAGS], config_file=args.configfile,
        progress_every=args.progress_every,
    ), dry


PATH_KEYS = ("data_root", "output_root", "night_summary", "merged_summary", "tools_bin", "models_dir",
             "lstchain_config", "calibration_config", "time_calibration_config", "ffactor_systematics")


def check_passable(key: str, value: str) -> None:
    """Paths go to Snakemake as ``--config KEY=VALUE``, which strips quotes at the ends of VALUE and reads
    it as YAML (`` #...`` is a comment, ``a: b`` a mapping): refuse what would arrive changed."""
    import yaml  # noqa: PLC0415

    try:
        parsed = yaml.load(value, Loader=yaml.BaseLoader)
    except yaml.YAMLError:
        parsed = value  # Snakemake then keeps the text
    if value != value.strip("'\"") or parsed != value:
        raise ConfigError(f"{key}: {value!r} would reach Snakemake changed (its --config strips quotes at the "
                          "ends and reads YAML); rename it, or set it in a config file "
                          "(--snakemake-args '--configfile FILE')")


def overrides_from(args) -> dict[str, str]:
    items = parse_overrides(args.config)
    if args.data_root:
        items["data_root"] = str(Path(args.data_root).resolve())
    if args.output_root:
        items["output_root"] = str(Path(args.output_root).resolve())
    if getattr(args, "prod_id", None):
        items["prod_id"] = args.prod_id
    for key in PATH_KEYS:
        if items.get(key):
            check_passable(key, items[key])
    return items
