"""The operation commands read --config KEY=VALUE exactly as Snakemake does (else the pre-flight check
and the workflow disagree: 'dl1ab=false' was a boolean for us and a string for Snakemake)."""

from __future__ import annotations

from snakemake.cli import parse_config

from lstosa_snake.night.opsconfig import parse_overrides, parse_value

VALUES = ["1", "0.5", "True", "False", "true", "false", "yes", "no", "[01874.0003,01874.0004]", "v0.12",
          "/a/b c", "{a: 1}", "null", "1e3"]


def test_values_parse_as_snakemake_parses_them():
    theirs = parse_config([f"k{i}={v}" for i, v in enumerate(VALUES)])
    assert {f"k{i}": parse_value(v) for i, v in enumerate(VALUES)} == theirs


def test_true_and_false_in_any_case_are_booleans_on_both_sides():
    items = parse_overrides(["dl1ab=false", "provenance=TRUE", "prod_id=v0.12", "note=falsey"])
    assert items == {"dl1ab": "False", "provenance": "True", "prod_id": "v0.12", "note": "falsey"}
    theirs = parse_config([f"{k}={v}" for k, v in items.items()])
    assert theirs == {k: parse_value(v) for k, v in items.items()} == {
        "dl1ab": False, "provenance": True, "prod_id": "v0.12", "note": "falsey"}
