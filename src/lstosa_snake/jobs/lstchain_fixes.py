"""Work-arounds for three bugs of lstchain 0.12.3 (also present on its main branch, Nov 2026).

Each work-around is a drop-in replacement of the lstchain command (same command-line
interface) that runs the original ``main()`` after a minimal, targeted patch:

1. ``lstosa-create-run-summary`` for ``lstchain_create_run_summary``.
   Bug: with numpy >= 2 the script dies with ``OverflowError: Python integer -1 out of
   bounds for uint64`` for every CTA R1v1 run, because its default
   ``dragon_reference_counter=-1`` (``COUNTER_DEFAULTS``) is stored in a ``uint64``
   column.  numpy < 2 silently wrapped -1 to 2**64 - 1; the fix sets that value
   explicitly, so the run summary is byte-for-byte what numpy < 2 wrote.  R1v1 data
   never use the Dragon reference counter (event times come from the events).

2. ``lstosa-create-time-calibration`` for ``lstchain_data_create_time_calibration_file``.
   Bug: with ctapipe 0.25 ``TimeCorrectionCalculate.calibrate_peak_time`` passes a
   zero-filled (n_gains, n_pixels) "no gain selection" array as
   ``selected_gain_channel`` to the charge extractor; ctapipe 0.25 takes it as "use
   gain 0" and returns one-gain (n_pixels,) images, and the numba kernel that indexes
   ``charge[gain, pixel]`` then fails with ``TypingError: ... getitem(array(float32,
   1d), ...)``.  ctapipe's way to say "keep both gains" is
   ``selected_gain_channel=None``.  The fix wraps the extractor: the first such call
   is made as lstchain asks; only if it returns a one-gain image is it (and every
   later one) redone with ``None``, so the work-around switches itself off once
   upstream is fixed, and says so in the log.

3. ``lstosa-merge-hdf5-files`` for ``lstchain_merge_hdf5_files``.
   Bug: ``lstchain_dl1_to_dl2`` writes its provenance as ``/provenance/dl1_to_dl2``, a
   variable-length string dataset that PyTables cannot read (an ``UnImplemented`` node);
   merging DL2 files then dies with ``IndexError: /provenance`` in ``copy_h5_nodes``.
   The fix leaves such unreadable nodes out of the merge (saying which) and merges every
   table and array as lstchain does.

All print a line starting with ``lstosa-snake work-around`` to stderr saying whether
the bug was found.  ``tests/test_lstchain_fixes.py`` checks that the bugs are still
present upstream; when one of those tests fails, delete the corresponding work-around
and call the lstchain command directly.

This module is imported in the tools' environment (.venv-lst) only when a work-around
runs; importing it elsewhere is cheap (no numpy/lstchain at import time).
"""
from __future__ import annotations

import logging
import sys

log = logging.getLogger("lstosa_snake.jobs.lstchain_fixes")

PREFIX = "lstosa-snake work-around"


def _announce(msg: str):
    print(f"{PREFIX}: {msg}", file=sys.stderr, flush=True)


# --- 1. lstchain_create_run_summary ----------------------------------------------------

RUN_SUMMARY_BUG = "lstchain_create_run_summary OverflowError (-1 in uint64 column dragon_reference_counter) with numpy>=2"


def run_summary_bug_present(script=None) -> bool:
    """True if lstchain's default ``dragon_reference_counter`` cannot be stored in its column dtype."""
    import numpy as np

    if script is None:
        from lstchain.scripts import lstchain_create_run_summary as script
    col = "dragon_reference_counter"
    try:
        np.array([script.COUNTER_DEFAULTS[col]], dtype=script.dtypes[col])
    except OverflowError:
        return True
    return False


def patch_run_summary(script=None) -> bool:
    """Apply fix 1 to the imported script module; returns True if the bug was present."""
    import numpy as np

    if script is None:
        from lstchain.scripts import lstchain_create_run_summary as script
    if not run_summary_bug_present(script):
        _announce(f"bug not present any more, not patching: {RUN_SUMMARY_BUG}")
        return False
    # modify the dict in place: read_counters() returns this very object
    script.COUNTER_DEFAULTS["dragon_reference_counter"] = np.iinfo(np.uint64).max
    _announce(f"patching {RUN_SUMMARY_BUG}: default set to 2**64-1 (what numpy<2 stored)")
    return True


def create_run_summary_main(argv=None):
    """``lstosa-create-run-summary``: ``lstchain_create_run_summary`` with fix 1."""
    from lstchain.scripts import lstchain_create_run_summary as script

    patch_run_summary(script)
    sys.argv = ["lstchain_create_run_summary", *(sys.argv[1:] if argv is None else argv)]
    return script.main()


# --- 2. lstchain_data_create_time_calibration_file ---------------------------------------

TIME_CALIBRATION_BUG = (
    "lstchain_data_create_time_calibration_file numba TypingError with ctapipe>=0.25 "
    "(zero array instead of None as selected_gain_channel)"
)


class _BothGainsExtractor:
    """Wraps an ImageExtractor.  When it is called with an all-zero 2-d
    ``selected_gain_channel`` for two-gain waveforms (lstchain's way of asking for both
    gains) and returns a one-gain image (ctapipe >= 0.25 reads the array as "select gain
    0"), the call is redone with ``None`` (ctapipe's way of asking for both gains)."""

    def __init__(self, extractor):
        self._extractor = extractor
        self.bug_seen = None  # None: not yet probed, True: bug seen, False: original works

    def __getattr__(self, name):
        return getattr(self._extractor, name)

    def __call__(self, waveforms, tel_id, selected_gain_channel, broken_pixels):
        import numpy as np

        asks_both = (
            waveforms.ndim == 3 and waveforms.shape[0] == 2
            and selected_gain_channel is not None
            and np.ndim(selected_gain_channel) == 2
            and not np.any(selected_gain_channel)
        )
        if asks_both and self.bug_seen:
            return self._extractor(waveforms, tel_id, None, broken_pixels)
        result = self._extractor(waveforms, tel_id, selected_gain_channel, broken_pixels)
        if asks_both and self.bug_seen is None:
            self.bug_seen = np.ndim(result.image) != 2
            if self.bug_seen:
                _announce(f"patching {TIME_CALIBRATION_BUG}: calling the extractor with None (both gains)")
            else:
                _announce(f"bug not present any more, not patching: {TIME_CALIBRATION_BUG}")
        if asks_both and self.bug_seen:
            return self._extractor(waveforms, tel_id, None, broken_pixels)
        return result


def patch_time_calibration():
    """Apply fix 2: every TimeCorrectionCalculate created afterwards wraps its extractor."""
    from lstchain.calib.camera import time_correction_calculate as tcc

    cls = tcc.TimeCorrectionCalculate
    if getattr(cls, "_lstosa_patched", False):
        return
    original_init = cls.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.extractor = _BothGainsExtractor(self.extractor)

    cls.__init__ = __init__
    cls._lstosa_patched = True


def time_calibration_main(argv=None):
    """``lstosa-create-time-calibration``: ``lstchain_data_create_time_calibration_file`` with fix 2."""
    patch_time_calibration()
    from lstchain.scripts import lstchain_data_create_time_calibration_file as script

    sys.argv = ["lstchain_data_create_time_calibration_file", *(sys.argv[1:] if argv is None else argv)]
    return script.main()


# --- 3. lstchain_merge_hdf5_files ------------------------------------------------------

MERGE_BUG = "lstchain_merge_hdf5_files IndexError on PyTables-unreadable nodes (/provenance/dl1_to_dl2 of DL2 files)"


def unreadable_nodes(h5file) -> list[str]:
    """Leaves PyTables cannot read (UnImplemented), e.g. the vlen-string provenance of DL2 files."""
    import tables

    with tables.open_file(str(h5file), "r") as f:
        return [n._v_pathname for n in f.walk_nodes("/") if isinstance(n, tables.UnImplemented)]


def patch_merge():
    """Make lstchain's key listing skip unreadable leaves, in the io module and the script."""
    import tables
    from lstchain.io import io as lst_io
    from lstchain.scripts import lstchain_merge_hdf5_files as script

    original = lst_io.get_dataset_keys
    if getattr(original, "_lstosa_patched", False):
        return

    def get_dataset_keys(h5file):
        keys = original(h5file)
        if isinstance(h5file, tables.File):
            bad = {n._v_pathname for n in h5file.walk_nodes("/") if isinstance(n, tables.UnImplemented)}
        else:
            bad = set(unreadable_nodes(h5file))
        if bad:
            _announce(f"{MERGE_BUG}: leaving out {sorted(bad)}")
        return [k for k in keys if k not in bad]

    get_dataset_keys._lstosa_patched = True
    lst_io.get_dataset_keys = get_dataset_keys
    script.get_dataset_keys = get_dataset_keys


def merge_hdf5_main(argv=None):
    """``lstosa-merge-hdf5-files``: ``lstchain_merge_hdf5_files`` with fix 3."""
    patch_merge()
    from lstchain.scripts import lstchain_merge_hdf5_files as script

    sys.argv = ["lstchain_merge_hdf5_files", *(sys.argv[1:] if argv is None else argv)]
    return script.main()
