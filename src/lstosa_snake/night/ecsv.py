"""A small reader of astropy's ECSV tables (RunSummary, merged RunSummary, RunCatalog).

Snakemake's environment reads the night summary at every start, also inside each SLURM job, so it
does not import astropy (about 1 s). This reader follows the ECSV 1.0 rules those files use, and
``tests/test_ecsv.py`` proves it equal to astropy's ``Table.read`` on LSTOSA's real files and on
comma and space delimiters, quoted strings and masked values:

* the header is the ``# ``-prefixed YAML block after ``# %ECSV x.y`` and ``# ---``; its
  ``delimiter`` is ``','`` or ``' '`` (the default when absent);
* the first line after the header names the columns; values may be double-quoted (``""`` is a
  quote inside one); with the space delimiter, runs of spaces separate fields;
* an empty field, quoted (``""``, the only way to write one with spaces) or not, is a masked
  value: ``None``.

Values are returned as strings (``None`` when masked); callers convert them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from lstosa_snake.core.errors import NightSummaryError


class _HeaderLoader(yaml.SafeLoader):
    """Safe YAML that reads astropy's tags (``!astropy.table.SerializedColumn`` ...) as plain data."""


def _any_tag(loader, tag_suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_HeaderLoader.add_multi_constructor("!", _any_tag)


@dataclass
class EcsvTable:
    path: str
    columns: list[str]
    datatypes: dict[str, str]
    meta: dict
    #: (line number in the file, {column: value or None}) per data row
    rows: list[tuple[int, dict[str, str | None]]] = field(default_factory=list)


def _meta_dict(meta) -> dict:
    """``!!omap`` gives a list of pairs; a plain mapping stays as it is."""
    if isinstance(meta, dict):
        return meta
    out = {}
    for item in meta or []:
        if isinstance(item, tuple) and len(item) == 2:
            out[item[0]] = item[1]
        elif isinstance(item, dict):
            out.update(item)
    return out


def read_ecsv(text: str, path="<ecsv>") -> EcsvTable:
    """Parse ECSV text; file-level problems raise :class:`NightSummaryError` naming file and line."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# %ECSV"):
        raise NightSummaryError(path, "not an ECSV file (no '# %ECSV' header)", 1)
    end = 1
    while end < len(lines) and lines[end].startswith("#"):
        end += 1
    yaml_lines = [ln[2:] if ln.startswith("# ") else ln[1:] for ln in lines[1:end]]
    if yaml_lines and yaml_lines[0].strip() == "---":
        yaml_lines = yaml_lines[1:]
    try:
        header = yaml.load("\n".join(yaml_lines), Loader=_HeaderLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 3 if mark is not None else None  # '# %ECSV' and '# ---' come first
        raise NightSummaryError(path, f"ECSV header is not valid YAML ({getattr(exc, 'problem', exc)})", line) from None
    if not isinstance(header, dict):
        raise NightSummaryError(path, "ECSV header is not a YAML mapping", 2)
    delimiter = header.get("delimiter", " ")
    if delimiter not in (",", " "):
        raise NightSummaryError(path, f"ECSV delimiter must be ',' or ' ', got {delimiter!r}")
    datatypes = {}
    for col in header.get("datatype") or []:
        if isinstance(col, dict) and "name" in col:
            datatypes[str(col["name"])] = str(col.get("datatype", "string"))
    meta = _meta_dict(header.get("meta"))

    # Keep the file's line numbers: skip blank lines ourselves, one line at a time.
    body = [(i + 1, ln) for i, ln in enumerate(lines[end:], start=end) if ln.strip()]
    if not body:
        raise NightSummaryError(path, "ECSV table has no column-name line", end + 1)

    header_line, names_line = body[0]
    columns = [name for name, _ in _fields(names_line, delimiter, path, header_line)]
    if datatypes and list(datatypes) != columns:
        raise NightSummaryError(
            path, f"column names {columns} do not match the header's datatype list {list(datatypes)}", header_line
        )
    table = EcsvTable(str(path), columns, datatypes, meta)
    for lineno, line in body[1:]:
        values = _fields(line, delimiter, path, lineno)
        if len(values) != len(columns):
            raise NightSummaryError(path, f"expected {len(columns)} values, got {len(values)}", lineno)
        row = {}
        for name, (value, _quoted) in zip(columns, values):
            row[name] = None if value == "" else value  # astropy: an empty field, quoted or not, is masked
        table.rows.append((lineno, row))
    return table


def _fields(line: str, delimiter: str, path, lineno: int) -> list[tuple[str, bool]]:
    """Split one line into (value, was_quoted) pairs."""
    out: list[tuple[str, bool]] = []
    i, n = 0, len(line)
    while True:
        if delimiter == " ":
            while i < n and line[i] == " ":
                i += 1
            if i >= n:
                break  # trailing spaces end the line
        if i < n and line[i] == '"':
            i += 1
            buf = []
            while True:
                if i >= n:
                    raise NightSummaryError(path, "unterminated quoted value", lineno)
                if line[i] == '"':
                    if i + 1 < n and line[i + 1] == '"':  # "" inside quotes is one quote
                        buf.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(line[i])
                i += 1
            out.append(("".join(buf), True))
        else:
            j = line.find(delimiter, i)
            j = n if j < 0 else j
            out.append((line[i:j], False))
            i = j
        if i >= n:
            break
        if line[i] != delimiter:
            raise NightSummaryError(path, f"unexpected {line[i]!r} after a quoted value", lineno)
        i += 1
        if delimiter == "," and i == n:
            out.append(("", False))  # a trailing comma leaves an empty last field
            break
    return out
