"""Where every product of a night lives: the LST directory layout and file names.

Raw data is read from ``data_root`` (``R0/<YYYYMMDD>/``, ``monitoring/DrivePositioning``) and
never written; products go below ``output_root`` (by default the same tree)::

    monitoring/PixelCalibration/Cat-A/drs4_baseline/<date>/<version>/drs4_pedestal.Run01872.0000.h5
    monitoring/PixelCalibration/Cat-A/calibration/<date>/<version>/calibration_filters_52.Run01873.0000.h5
    monitoring/PixelCalibration/Cat-A/drs4_time_sampling_from_FF/<date>/<version>/time_calibration.Run01873.0000.h5
    monitoring/RunSummary/RunSummary_<date>.ecsv                      (when created from the raw files)
    R0G/<date>/LST-1.{1..4}.Run01874.0001.fits.fz                     (legacy_raw nights: gain-selected DATA)
    DL1/<date>/<prod_id>/dl1_LST-1.Run01874.0001.h5                   (DL1a, per sub-run)
    DL1/<date>/<prod_id>/tailcut84/dl1_LST-1.Run01874.0001.h5       (DL1b, docs/dl1b.md; dl1b/ links to it)
    DL1/<date>/<prod_id>/tailcut84/dl1_LST-1.Run01874.h5            (per run, merged, no images)
    DL1/<date>/<prod_id>/muons/muons_LST-1.Run01874[.0001].fits
    DL1/<date>/<prod_id>/interleaved/interleaved_LST-1.Run01874.0001.h5
    DL1/<date>/<prod_id>/tailcut84/datacheck/datacheck_dl1_LST-1.Run01874[.0001].h5 (+ .pdf per run)
    DL1/datacheck_files/<date>/                                       (links to the datacheck files, muons/)
    DL1/datacheck_files/night_wise/<prod_id>/<date>/DL1_datacheck_<date>.{h5,html,log} (+ latest links)
    DL2/<date>/<prod_id>/tailcut84/nsb_tuning_0.00/dl2_LST-1.Run01874.h5
    DL2/<date>/<prod_id>/dl2_LST-1.Run01874.0001.h5                   (per sub-run: LSTOSA has none)
    OSA/Closer/<date>/<prod_id>/NightFinished.txt
    DL1/<date>/<prod_id>/tailcuts/{dl1ab,tailcuts}_Run01874.json, log_find_tailcuts_Run01874.log
    monitoring/PixelCalibration/Cat-B/calibration/<date>/<version>/cat_B_calibration_filters_52.Run01874.h5
    running_analysis/<date>/<prod_id>/{log,benchmarks,staging}/       (work area)

Products that LSTOSA keeps in a cleaning (``tailcut84``) and NSB (``nsb_tuning_0.14``) directory
are written there (``lstosa_*`` methods, docs/layout.md); the workflow's own handle on each is a
relative link at the fixed path of the method without the prefix (``dl1_run`` ...), since those
directories are known only once a run's tail cuts are.

Methods return concrete paths; ``*_pattern`` attributes keep ``{run}``/``{subrun}`` as Snakemake
wildcards (run: 5 digits, sub-run: 4 digits).
"""

from __future__ import annotations

import datetime as dt
import inspect
from dataclasses import dataclass
from pathlib import Path

from lstosa_snake.core.errors import ConfigError

from .dates import compact
from .lstosa_tree import LstosaTree, check_id

#: Snakemake wildcard constraints matching the LST file names.
WILDCARDS = {"run": r"\d{5}", "subrun": r"\d{4}"}

@dataclass(frozen=True)
class NightPaths(LstosaTree):
    data_root: Path
    output_root: Path
    night: dt.date
    prod_id: str
    calib_version: str
    #: the calibration box's filter positions in the Cat-A/Cat-B file names (LSTOSA asks CaCo's database,
    #: 52 when it has no answer; here config calibration_filters)
    calib_filters: int = 52

    def __post_init__(self):
        check_id(self.prod_id, "prod_id")
        check_id(self.calib_version, "calibration_version")
        if not isinstance(self.calib_filters, int) or not 0 <= self.calib_filters <= 99:
            raise ConfigError(f"calibration_filters must be an integer 0-99, got {self.calib_filters!r}")

    # ----------------------------------------------------------------- inputs
    @property
    def date(self) -> str:
        return compact(self.night)

    @property
    def r0_dir(self) -> Path:
        return self.data_root / "R0" / self.date

    def r0(self, run, subrun, stream: int = 1) -> Path:
        return self.r0_dir / f"LST-1.{stream}.Run{int(run):05d}.{int(subrun):04d}.fits.fz"

    def r0_streams(self, run, subrun) -> list[Path]:
        return [self.r0(run, subrun, s) for s in (1, 2, 3, 4)]

    # ----------------------------------------------- gain selection (legacy_raw)
    @property
    def r0g_dir(self) -> Path:
        """Gain-selected copies of a legacy_raw night's DATA sub-runs (LSTOSA's R0G/<date>/), per night:
        every production reads the same R0G files."""
        return self.output_root / "R0G" / self.date

    def r0g(self, run, subrun, stream: int = 1) -> Path:
        return self.r0g_dir / f"LST-1.{stream}.Run{int(run):05d}.{int(subrun):04d}.fits.fz"

    @property
    def gain_selection_running_dir(self) -> Path:
        """Work area of the night's gain selection (staging, logs, benchmarks, provenance records)."""
        return self.output_root / "running_analysis" / self.date / "gain_selection"

    @property
    def pointing_file(self) -> Path:
        return self.data_root / "monitoring" / "DrivePositioning" / f"DrivePosition_log_{self.date}.txt"

    @property
    def created_run_summary(self) -> Path:
        return self.output_root / "monitoring" / "RunSummary" / f"RunSummary_{self.date}.ecsv"

    @property
    def derived_run_summary(self) -> Path:
        """RunSummary ECSV made from a seed NightSummary text, for the tools that need one.

        Per night, not per production: the calibration files depend on it and are shared by
        all productions of a calibration version.
        """
        return self.output_root / "running_analysis" / self.date / f"RunSummary_{self.date}.ecsv"

    @property
    def calibration_running_dir(self) -> Path:
        """Work area (logs, benchmarks, staging) of the night's calibration, per calibration version."""
        return self.output_root / "running_analysis" / self.date / "calibration" / self.calib_version

    # ----------------------------------------------------------- calibration
    def _catA(self, kind: str, night: dt.date | None = None) -> Path:
        date = compact(night or self.night)
        return self.output_root / "monitoring" / "PixelCalibration" / "Cat-A" / kind / date / self.calib_version

    def drs4_pedestal(self, run, night: dt.date | None = None) -> Path:
        return self._catA("drs4_baseline", night) / f"drs4_pedestal.Run{int(run):05d}.0000.h5"

    def charge_calibration(self, run, night: dt.date | None = None) -> Path:
        return self._catA("calibration", night) / f"calibration_filters_{self.calib_filters}.Run{int(run):05d}.0000.h5"

    def time_calibration(self, run, night: dt.date | None = None) -> Path:
        return self._catA("drs4_time_sampling_from_FF", night) / f"time_calibration.Run{int(run):05d}.0000.h5"

    def catA_lookup_dir(self, kind: str) -> Path:
        """Cat-A directory of files made by the calibration team and looked up (LSTOSA's "pro"
        time calibration and F-factor systematics): read from data_root, never written."""
        return self.data_root / "monitoring" / "PixelCalibration" / "Cat-A" / kind

    # ------------------------------------------------------------ products
    @property
    def dl1_dir(self) -> Path:
        return self.output_root / "DL1" / self.date / self.prod_id

    @property
    def dl2_dir(self) -> Path:
        return self.output_root / "DL2" / self.date / self.prod_id

    @property
    def running_dir(self) -> Path:
        return self.output_root / "running_analysis" / self.date / self.prod_id

    @property
    def night_datacheck(self) -> Path:
        return (
            self.output_root / "DL1" / "datacheck_files" / "night_wise" / self.prod_id / self.date
            / f"DL1_datacheck_{self.date}.h5"
        )

    def dl1_subrun(self, run, subrun) -> Path:
        return self.dl1_dir / f"dl1_LST-1.Run{int(run):05d}.{int(subrun):04d}.h5"

    def muons_subrun(self, run, subrun) -> Path:
        return self.dl1_dir / "muons" / f"muons_LST-1.Run{int(run):05d}.{int(subrun):04d}.fits"

    def interleaved_subrun(self, run, subrun) -> Path:
        return self.dl1_dir / "interleaved" / f"interleaved_LST-1.Run{int(run):05d}.{int(subrun):04d}.h5"

    def datacheck_subrun(self, run, subrun) -> Path:
        return self.dl1_dir / "datacheck" / f"datacheck_dl1_LST-1.Run{int(run):05d}.{int(subrun):04d}.h5"

    # ------------------------------------------------------ DL1b (docs/dl1b.md)
    def dl1b_subrun(self, run, subrun) -> Path:
        """The workflow's handle on a sub-run's DL1b file: a link into its cleaning directory
        (``tailcut84/`` ...), which is only known once the run's tail cuts are."""
        return self.dl1_dir / "dl1b" / f"dl1_LST-1.Run{int(run):05d}.{int(subrun):04d}.h5"

    def dl1b_in(self, dl1_prod_id: str, run, subrun) -> Path:
        """Where a sub-run's DL1b file is: LSTOSA's DL1/<date>/<prod_id>/<dl1_prod_id>/."""
        return self.dl1_dir / check_id(dl1_prod_id, "dl1_prod_id") / f"dl1_LST-1.Run{int(run):05d}.{int(subrun):04d}.h5"

    def dl1ab_config(self, run) -> Path:
        """The run's dl1ab configuration (lstchain_find_tailcuts' dl1ab_RunNNNNN.json, or standard)."""
        return self.dl1_dir / "tailcuts" / f"dl1ab_Run{int(run):05d}.json"

    def tailcuts_summary(self, run) -> Path:
        """Our summary of the run's cleaning: thresholds, NSB, dl1_prod_id (lstosa_snake.jobs.dl1b)."""
        return self.dl1_dir / "tailcuts" / f"tailcuts_Run{int(run):05d}.json"

    def catB_calibration(self, run) -> Path:
        return (
            self.output_root / "monitoring" / "PixelCalibration" / "Cat-B" / "calibration" / self.date
            / self.calib_version / f"cat_B_calibration_filters_{self.calib_filters}.Run{int(run):05d}.h5"
        )

    def catB_status(self, run) -> Path:
        """Whether the run has a Cat-B calibration, and why not (LSTOSA's catB_RUN.closed flag)."""
        return self.running_dir / "catB" / f"catB_Run{int(run):05d}.json"

    def dl2_subrun(self, run, subrun) -> Path:
        return self.dl2_dir / f"dl2_LST-1.Run{int(run):05d}.{int(subrun):04d}.h5"

    def dl1_run(self, run) -> Path:
        return self.dl1_dir / f"dl1_LST-1.Run{int(run):05d}.h5"

    def muons_run(self, run) -> Path:
        return self.dl1_dir / "muons" / f"muons_LST-1.Run{int(run):05d}.fits"

    def datacheck_run(self, run) -> Path:
        return self.dl1_dir / "datacheck" / f"datacheck_dl1_LST-1.Run{int(run):05d}.h5"

    def datacheck_run_pdf(self, run) -> Path:
        return self.datacheck_run(run).with_suffix(".pdf")

    def dl2_run(self, run) -> Path:
        return self.dl2_dir / f"dl2_LST-1.Run{int(run):05d}.h5"

    @property
    def night_report(self) -> Path:
        return self.running_dir / "night_report.json"

    @property
    def night_finished(self) -> Path:
        return self.running_dir / "NightFinished.txt"

    def log(self, name: str) -> Path:
        return self.running_dir / "log" / name

    def benchmark(self, name: str) -> Path:
        return self.running_dir / "benchmarks" / name

    @property
    def staging_dir(self) -> Path:
        return self.running_dir / "staging"


    # ------------------------------------------------- Snakemake patterns
    def pattern(self, method: str, **fixed) -> str:
        """A path with ``{run}``/``{subrun}`` left as wildcards, e.g. pattern('dl1_subrun') or
        pattern('r0', stream=2). Static patterns cost Snakemake less than an input function per job."""
        fn = getattr(self, method)
        if "subrun" in inspect.signature(fn).parameters:
            path = str(fn(99999, 9999, **fixed))
        else:
            path = str(fn(99999, **fixed))
        return path.replace("Run99999", "Run{run}").replace(".9999.", ".{subrun}.")
