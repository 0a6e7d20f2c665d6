"""Exceptions with one-line messages meant for operators (no traceback needed)."""

from __future__ import annotations


class LstosaError(Exception):
    """Base class: the message alone tells the operator what is wrong and where."""


class ConfigError(LstosaError):
    """A configuration value or command-line setting is invalid."""


class NightSummaryError(LstosaError):
    """A night summary file is unreadable or malformed; names the file and line."""

    def __init__(self, path, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class SequenceError(LstosaError):
    """The night cannot be sequenced (e.g. no usable calibration)."""
