"""Configuration check at start-up against workflow/schemas/config.schema.yaml, in one line."""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import ConfigError


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
