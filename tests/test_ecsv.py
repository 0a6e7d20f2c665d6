"""Our ECSV reader equals astropy's Table.read on real LSTOSA files and on the cases ECSV allows:
comma and space delimiters, quoted strings (with delimiters and quotes inside) and masked values.

astropy is not in Snakemake's environment (it would cost ~1 s at every start), so it runs in the
lstchain tools' environment (.venv-lst), which scripts/setup.sh always creates."""

import json
import math
import subprocess
from pathlib import Path

import pytest

from lstosa_snake.night.ecsv import read_ecsv
from lstosa_snake.core.errors import NightSummaryError

ROOT = Path(__file__).resolve().parents[1]
LST_PYTHON = ROOT / ".venv-lst" / "bin" / "python"
REAL = sorted((ROOT / "tests" / "data" / "lstosa").rglob("*.ecsv"))

HEADER = """\
# %ECSV 1.0
# ---
# datatype:
# - {name: run_id, datatype: int64}
# - {name: source_name, datatype: string}
# - {name: source_dec, datatype: float64}
# - {name: n_subruns, datatype: int64}
# delimiter: 'DELIM'
# schema: astropy-2.0
"""
COMMA = HEADER.replace("DELIM", ",") + '''\
run_id,source_name,source_dec,n_subruns
1,"Crab, Nebula",22.0,5
2,,1.5,
3,"",-4.13,7
4,"say ""hi""",,8
5,Mrk421,38.2,1
'''
SPACE = HEADER.replace("DELIM", " ") + '''\
run_id source_name source_dec n_subruns
1 "Crab, Nebula" 22.0 5
2 "" 1.5 ""
3   ""   -4.13 7
4 "say ""hi""" "" 8
5 Mrk421 38.2 1
'''

ASTROPY_DUMP = r"""
import json, sys
import numpy as np
from astropy.table import Table
from astropy.time import Time
out = {}
for path in sys.argv[1:]:
    t = Table.read(path, format="ascii.ecsv")
    rows = []
    for i in range(len(t)):
        row = {}
        for c in t.colnames:
            col = t[c]
            if getattr(col, "mask", None) is not None and np.ndim(col.mask) and col.mask[i]:
                row[c] = None
            elif isinstance(col, Time):
                row[c] = col[i].isot
            else:
                v = col[i]
                row[c] = v.item() if hasattr(v, "item") else str(v)
        rows.append(row)
    out[path] = {"columns": t.colnames, "rows": rows, "date": str(t.meta.get("date"))}
print(json.dumps(out))
"""


def astropy_read(paths: list[Path]) -> dict:
    assert LST_PYTHON.is_file(), f"{LST_PYTHON} is missing: run scripts/setup.sh"
    res = subprocess.run([str(LST_PYTHON), "-c", ASTROPY_DUMP, *map(str, paths)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def same(ours: str | None, theirs) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if isinstance(theirs, float):
        return math.isclose(float(ours), theirs, rel_tol=1e-12)
    if isinstance(theirs, bool):
        return ours.lower() == str(theirs).lower()
    return str(theirs) == ours or (isinstance(theirs, int) and int(ours) == theirs)


@pytest.mark.tools
def test_reader_equals_astropy(tmp_path):
    cases = list(REAL)
    for name, text in (("comma.ecsv", COMMA), ("space.ecsv", SPACE)):
        (tmp_path / name).write_text(text)
        cases.append(tmp_path / name)
    assert len(REAL) == 6  # the LSTOSA ECSV files of tests/data/lstosa/README.md
    theirs_all = astropy_read(cases)
    compared = 0
    for path in cases:
        ours = read_ecsv(path.read_text(), path)
        theirs = theirs_all[str(path)]
        assert ours.columns == theirs["columns"], path
        assert len(ours.rows) == len(theirs["rows"]), path
        for (_, row), trow in zip(ours.rows, theirs["rows"]):
            for c in ours.columns:
                assert same(row[c], trow[c]), (path.name, c, row[c], trow[c])
                compared += 1
        assert str(ours.meta.get("date")) == theirs["date"], path
    assert compared > 400


def test_space_and_comma_tables_read_alike():
    comma = [row for _, row in read_ecsv(COMMA, "c").rows]
    space = [row for _, row in read_ecsv(SPACE, "s").rows]
    assert comma == space
    assert comma[0]["source_name"] == "Crab, Nebula" and comma[3]["source_name"] == 'say "hi"'
    assert comma[1]["source_name"] is None and comma[1]["n_subruns"] is None and comma[3]["source_dec"] is None


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("run_id,n\n1,2\n", 1, "no '# %ECSV' header"),
        ("# %ECSV 1.0\n# ---\n# delimiter: ';'\na;b\n", None, "delimiter must be ',' or ' '"),
        ("# %ECSV 1.0\n# ---\n# datatype: [\na,b\n", 3, "header is not valid YAML"),
        ("# %ECSV 1.0\n# ---\n# delimiter: ','\na,b\n1,2,3\n", 5, "expected 2 values, got 3"),
        ("# %ECSV 1.0\n# ---\n# delimiter: ','\na,b\n1,\"2\n", 5, "unterminated quoted value"),
        ("# %ECSV 1.0\n# ---\n# delimiter: ','\n", 4, "no column-name line"),
    ],
)
def test_bad_ecsv_names_file_and_line(text, line, words):
    with pytest.raises(NightSummaryError) as err:
        read_ecsv(text, "f.ecsv")
    assert words in str(err.value)
    assert str(err.value).startswith("f.ecsv:" + (f"{line}:" if line else ""))
