"""LSTOSA's places for the products that have a cleaning (``tailcut84``) or NSB (``nsb_tuning_0.14``)
level, and the links and flags its readers look for (docs/layout.md). A part of :class:`NightPaths`."""

from __future__ import annotations

import re
from pathlib import Path

from lstosa_snake.core.errors import ConfigError

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def check_id(value: str, what: str) -> str:
    """Production ids and versions become directory names: refuse separators and '..'."""
    if not isinstance(value, str) or not _SAFE_ID.match(value) or ".." in value:
        raise ConfigError(f"{what} must be letters, digits and . _ + - (no '/' or '..'), got {value!r}")
    return value


class LstosaTree:
    """Mixed into NightPaths: uses its output_root, date, prod_id, dl1_dir, dl2_dir and product names."""

    def lstosa_dl1_dir(self, dl1_prod_id: str) -> Path:
        return self.dl1_dir / check_id(dl1_prod_id, "dl1_prod_id")

    def lstosa_dl1_run(self, run, dl1_prod_id: str) -> Path:
        return self.lstosa_dl1_dir(dl1_prod_id) / self.dl1_run(run).name

    def lstosa_datacheck_subrun(self, run, subrun, dl1_prod_id: str) -> Path:
        return self.lstosa_dl1_dir(dl1_prod_id) / "datacheck" / self.datacheck_subrun(run, subrun).name

    def lstosa_datacheck_run(self, run, dl1_prod_id: str) -> Path:
        return self.lstosa_dl1_dir(dl1_prod_id) / "datacheck" / self.datacheck_run(run).name

    def lstosa_datacheck_run_pdf(self, run, dl1_prod_id: str) -> Path:
        return self.lstosa_datacheck_run(run, dl1_prod_id).with_suffix(".pdf")

    def lstosa_dl2_run(self, run, dl1_prod_id: str, nsb_tuning: str) -> Path:
        return self.dl2_dir / check_id(dl1_prod_id, "dl1_prod_id") / check_id(nsb_tuning, "nsb_tuning") / self.dl2_run(run).name

    @property
    def datacheck_links_dir(self) -> Path:
        """LSTOSA's DL1/datacheck_files/<date>/: links to every datacheck file (and muons/), read by
        lstchain_longterm_dl1_check and copy_datacheck."""
        return self.output_root / "DL1" / "datacheck_files" / self.date

    def night_datacheck_file(self, ext: str) -> Path:
        return self.night_datacheck.with_suffix(f".{ext}")

    def longterm_link(self, ext: str) -> Path:
        """LSTOSA's link to the latest production's night-wise datacheck (create_longterm_symlink)."""
        return self.output_root / "DL1" / "datacheck_files" / "night_wise" / f"DL1_datacheck_{self.date}.{ext}"

    @property
    def lstosa_night_finished(self) -> Path:
        """The flag LSTOSA's launchers look for (OSA/Closer/<date>/<prod_id>/NightFinished.txt)."""
        return self.output_root / "OSA" / "Closer" / self.date / self.prod_id / "NightFinished.txt"

    @property
    def lstosa_tailcuts_dir(self) -> Path:
        """LSTOSA's auxiliary/TailCuts/ (flat, all nights): links to the finder's dl1ab_RunNNNNN.json and
        log_find_tailcuts_RunNNNNN.log of the production that ran last."""
        return self.output_root / "auxiliary" / "TailCuts"

    def lstosa_tailcuts_config(self, run) -> Path:
        return self.lstosa_tailcuts_dir / self.dl1ab_config(run).name

    def catA_pro_link(self, kind: str) -> Path:
        """Cat-A/<kind>/<date>/pro: the link lstchain.onsite's finders and copy_datacheck go through."""
        return self.output_root / "monitoring" / "PixelCalibration" / "Cat-A" / kind / self.date / "pro"

    def drs4_pedestal_pdf(self, run) -> Path:
        """lstchain's onsite plot of a DRS4 baseline: <version>/log/drs4_pedestal.RunNNNNN.0000.pdf."""
        f = self.drs4_pedestal(run)
        return f.parent / "log" / f.with_suffix(".pdf").name

    def charge_calibration_pdf(self, run) -> Path:
        f = self.charge_calibration(run)
        return f.parent / "log" / f.with_suffix(".pdf").name
