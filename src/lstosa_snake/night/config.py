"""Configuration check at start-up against workflow/schemas/config.schema.yaml, in one line."""

from __future__ import annotations

from pathlib import Path

import yaml

from lstosa_snake.core.errors import ConfigError


def validate_config(config: dict, schema_path: Path) -> None:
    """Raise :class:`ConfigError` naming the first offending key and why."""
    import jsonschema  # noqa: PLC0415 (installed with Snakemake)

    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    err = errors[0]
    key = ".".join(str(p) for p in err.absolute_path) or "(top level)"
    if err.validator == "pattern":
        why = f"{err.instance!r} does not have the expected form"
    elif err.validator == "additionalProperties":
        why = err.message.replace("Additional properties are not allowed", "unknown key(s)")
    else:
        why = err.message
    hint = (err.schema or {}).get("description") if isinstance(err.schema, dict) else None
    raise ConfigError(f"invalid configuration: {key}: {why}" + (f" ({hint})" if hint else ""))


def check_static_inputs(config: dict, base: Path) -> None:
    """Refuse to start, in one line, when a file every night needs is missing or unreadable.

    Without this, a missing models directory or lstchain configuration surfaces as Snakemake's
    multi-line MissingInputException (or not at all: the calibration configurations are not rule
    inputs, so the calibration jobs would fail one by one).
    """
    import json  # noqa: PLC0415

    def path(key):
        p = Path(str(config[key])).expanduser()
        return p if p.is_absolute() else Path(base) / p

    tools = path("tools_bin")
    if not tools.is_dir():
        raise ConfigError(f"tools_bin: {tools} is not a directory (the lstchain tools' environment; "
                          "create it with scripts/setup.sh)")
    models = path("models_dir")
    if not models.is_dir():
        raise ConfigError(f"models_dir: {models} is not a directory (the trained random-forest models)")
    dl1b_keys = tuple(k for k in ("dl1b_config", "catB_config") if config.get(k))  # DL1b (docs/dl1b.md)
    for key in ("lstchain_config", "calibration_config", "time_calibration_config", *dl1b_keys):
        p = path(key)
        try:
            text = p.read_text()
        except FileNotFoundError:
            raise ConfigError(f"{key}: {p} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{key}: cannot read {p}: {getattr(exc, 'strerror', None) or exc}") from None
        try:
            json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{key}: {p} is not valid JSON: {exc}") from None
