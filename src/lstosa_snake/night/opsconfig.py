"""Configuration as the operation commands (lstosa-nightly, -status, -reprocess) see it.

They read the same ``config/config.yaml`` Snakemake reads, then an optional YAML file, then
``KEY=VALUE`` overrides parsed the way Snakemake parses ``--config`` (int, float, bool, YAML
with every scalar a string, else the string itself), so both sides agree on the values.
Importing this module does not import Snakemake.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from lstosa_snake.core.errors import ConfigError

_KEY = re.compile(r"^[a-zA-Z_][\w-]*\w$|^[a-zA-Z_]$")


def project_dir() -> Path:
    """The workflow's directory (holding Snakefile): $LSTOSA_SNAKE_HOME, else this checkout."""
    env = os.environ.get("LSTOSA_SNAKE_HOME")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[3]


def _bool(value: str):
    """Snakemake takes exactly True and False as booleans (any other spelling stays a string)."""
    if value == "True":
        return True
    if value == "False":
        return False
    raise ValueError(value)


def parse_value(text: str):
    """Like Snakemake's ``--config`` value parsing (snakemake.cli.parse_config)."""
    if text == "":
        return None
    for parser in (int, float, _bool, lambda s: yaml.load(s, Loader=yaml.loader.BaseLoader)):
        try:
            return parser(text)
        except Exception:  # noqa: BLE001 (the next parser is tried, as Snakemake does)
            continue
    return text


def parse_overrides(items) -> dict[str, str]:
    """``["prod_id=v0.2", ...]`` -> {"prod_id": "v0.2"} (values kept as text for Snakemake).

    ``true``/``false`` in any case become ``True``/``False``, the only spellings Snakemake reads
    as booleans: an operator writing YAML's ``dl1ab=false`` means the boolean.
    """
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = str(item).partition("=")
        if not sep or not _KEY.match(key):
            raise ConfigError(f"--config takes KEY=VALUE, got {item!r}")
        out[key] = value.capitalize() if value.lower() in ("true", "false") else value
    return out


def load_config(base: Path, config_file=None, overrides: dict[str, str] | None = None) -> dict:
    """config/config.yaml, then ``config_file``, then the KEY=VALUE ``overrides``."""
    config: dict = {}
    default = Path(base) / "config" / "config.yaml"
    if default.is_file():
        config.update(yaml.safe_load(default.read_text()) or {})
    if config_file:
        try:
            extra = yaml.safe_load(Path(config_file).read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc.strerror}") from None
        if not isinstance(extra, dict):
            raise ConfigError(f"config file {config_file} is not a mapping of keys")
        config.update(extra)
    for key, value in (overrides or {}).items():
        config[key] = parse_value(value)
    return config


def format_list(values) -> str:
    """A list as a ``--config`` value: [a,b] (parsed back as strings by Snakemake)."""
    return "[" + ",".join(str(v) for v in values) + "]"
