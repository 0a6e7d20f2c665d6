"""Before a night is processed: is the site configured, is the configuration valid, is there work?

Plain functions that ``lstosa-nightly`` and ``lstosa-reprocess`` call before they take a lock or
create a directory, so that a refusal or a night without observations touches nothing on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lstosa_snake.core.errors import LstosaError
from lstosa_snake.night.config import check_static_inputs, validate_config
from lstosa_snake.night.nightsummary import (
    CALI,
    DATA,
    DRS4,
    find_night_summary,
    scan_raw_files,
)
from lstosa_snake.night.plan import night_paths, plan_night, resolve

#: no runs at all: nothing to do, exit 0, no notification
EMPTY = "empty"
#: calibration runs and no DATA run: the calibration is made (later nights borrow it), exit 0
CALIBRATION_ONLY = "calibration-only"
#: DATA runs in the summary, none with raw files: a problem to report
MISSING_RAW = "missing-raw"
#: DATA runs to process (or not known before the workflow makes the summary from the raw files)
DATA_NIGHT = "data"


def site_config_problem(overrides: dict, config_file: str | None, what: str = "lstosa-nightly") -> str | None:
    """Why the command must not run (None: fine). config/config.yaml's data_root is the demo
    night inside the install: a cron line that forgot the site's data tree would process (and
    write into) the demo directory. The site must be given explicitly."""
    if overrides.get("data_root") or config_file:
        return None
    return (f"no site configuration: pass --data-root DIR (and --config models_dir=DIR ...) or --configfile "
            f"SITE.yaml; {what} does not fall back to the demo night of config/config.yaml")


def check_config(config: dict, base: Path) -> None:
    """The workflow's own start-up checks (schema, tools, models, lstchain configurations), in one
    line (ConfigError), so that they are refused before anything is written."""
    validate_config(config, Path(base) / "workflow" / "schemas" / "config.schema.yaml")
    check_static_inputs(config, base)


@dataclass
class Outlook:
    kind: str
    message: str


def _runs(values) -> str:
    return ", ".join(f"{v:05d}" for v in sorted(values))


def night_outlook(config: dict, base: Path) -> Outlook:
    """What kind of night this is, from the summary (or its absence) and the raw directory listing."""
    paths = night_paths(config, base)
    night = f"night {paths.night}"
    override = config.get("night_summary")
    summary_path = resolve(override, base) if override else find_night_summary(
        paths.data_root, paths.output_root, paths.night)
    if summary_path is None:
        if not any(paths.r0_dir.glob("LST-1.1.Run*.fits.fz")):
            return Outlook(EMPTY, f"{night}: no observations (no night summary, no raw files in {paths.r0_dir}): "
                                  "nothing to do")
        return Outlook(DATA_NIGHT, f"{night}: no night summary: the workflow makes one from the raw files")
    try:
        plan = plan_night(config, base, summary_path)
    except LstosaError as exc:  # the workflow reports it the same way, with its log
        return Outlook(DATA_NIGHT, f"{night}: {exc}")
    data = [r for r in plan.summary.runs if r.run_type == DATA]
    calibration = [r for r in plan.summary.runs if r.run_type in (DRS4, CALI)]
    if not data:
        if calibration:
            return Outlook(CALIBRATION_ONLY, f"{night}: calibration only, no DATA runs "
                                             f"(calibration runs {_runs(r.run_id for r in calibration)})")
        return Outlook(EMPTY, f"{night}: no observations ({summary_path} lists no runs to process): nothing to do")
    if plan.runs:
        return Outlook(DATA_NIGHT, f"{night}: {len(plan.runs)} DATA run(s) to process")
    missing = missing_raw_runs(plan, set(plan.excluded_runs))
    if missing:
        return Outlook(MISSING_RAW, f"{night}: missing raw data: DATA run(s) {_runs(missing)} of {summary_path.name} "
                                    f"have no raw files in {paths.r0_dir}")
    return Outlook(DATA_NIGHT, f"{night}: no DATA run left to process (excluded or failed)")


def missing_raw_runs(plan, excluded: set[int]) -> list[int]:
    """DATA runs of the summary without any raw file (the plan's own list when it has one)."""
    listed = getattr(plan, "missing_raw_runs", None)
    if listed is not None:
        return sorted(int(r) for r in listed)
    raw = {run for run, _ in scan_raw_files(plan.paths.r0_dir)}
    return sorted(r.run_id for r in plan.summary.runs
                  if r.run_type == DATA and r.run_id not in excluded and r.run_id not in raw)
