"""RF models by declination line (LSTOSA get_RF_model), incl. the culmination rule, the plain
directory and the drive-log declination."""

import datetime as dt
import json
import subprocess

import pytest

from lstosa_snake.night.rf_models import (
    LST1_LATITUDE_DEG,
    ModelChoiceError,
    altaz_to_dec,
    choose_dec_line,
    choose_models_dir,
    dec_lines,
    drive_log_dec,
    read_drive_log,
)

#: the declination lines of LST-1's all-sky MC production
ALLSKY = ["dec_2276", "dec_3476", "dec_4822", "dec_6166", "dec_6676", "dec_931",
          "dec_min_1802", "dec_min_2924", "dec_min_413"]


def make_lines(root, names):
    for n in names:
        (root / n).mkdir(parents=True)
    return root


def test_dec_directory_names(tmp_path):
    make_lines(tmp_path, ["dec_2276", "dec_min_413", "dec_931", "dec_12", "decl_2276", "nsb_tuning_0.14"])
    (tmp_path / "dec_4822").touch()  # a file, not a line
    assert {k: v.name for k, v in dec_lines(tmp_path).items()} == {
        22.76: "dec_2276", -4.13: "dec_min_413", 9.31: "dec_931"}


def test_lstosa_fixture_runs(tmp_path):
    """LSTOSA's conftest: lines dec_2276 and dec_4822; RunCatalog 1807 at 22.08, 1808 at 43.98."""
    make_lines(tmp_path, ["dec_2276", "dec_4822"])
    assert choose_models_dir(tmp_path, 22.08, run=1807) == tmp_path / "dec_2276"  # LSTOSA test_get_RF_model
    assert choose_models_dir(tmp_path, 43.98, run=1808) == tmp_path / "dec_4822"


@pytest.mark.parametrize("dec, closest, chosen", [
    (29.5, 34.76, 34.76),    # between the two lines nearest the latitude: no culmination check
    (16.0, 9.31, 22.76),     # 9.31 culminates at 19.45 deg zenith > 12.76 for the pointing: next line
    (55.0, 61.66, 48.22),    # 61.66 culminates at 32.90 > 26.24
    (65.0, 66.76, 61.66),    # 66.76 culminates at 38.00 > 36.24; 61.66 at 32.90 is fine
    (-20.0, -18.02, -18.02),  # the closer line culminates higher than the pointing: kept
    (-30.0, -29.24, -29.24),
    (22.08, 22.76, 22.76),
])
def test_culmination_rule(dec, closest, chosen):
    lines = [(-1 if "min" in n else 1) * int(n.rsplit("_", 1)[1]) / 100 for n in ALLSKY]
    assert min(lines, key=lambda x: abs(x - dec)) == closest
    assert choose_dec_line(lines, dec) == chosen


def test_choose_models_dir_allsky(tmp_path):
    make_lines(tmp_path, ALLSKY)
    assert choose_models_dir(tmp_path, 16.0, run=2001) == tmp_path / "dec_2276"
    assert choose_models_dir(tmp_path, -5.0, run=2001) == tmp_path / "dec_min_413"


def test_plain_models_dir_is_used_as_is(tmp_path):
    (tmp_path / "reg_energy.sav").touch()
    assert choose_models_dir(tmp_path, 22.0, run=2001) == tmp_path
    assert choose_models_dir(tmp_path, None, run=2001) == tmp_path  # no pointing needed then


def test_unknown_pointing_or_no_usable_line_names_run_and_dir(tmp_path):
    make_lines(tmp_path, ["dec_1000", "dec_2000"])
    with pytest.raises(ModelChoiceError) as err:
        choose_models_dir(tmp_path, None, run=2001)
    assert "run 02001" in str(err.value) and str(tmp_path) in str(err.value)
    # both lines below a pointing at 25 deg culminate further from zenith than it does
    with pytest.raises(ModelChoiceError, match="run 02001 .*culminates"):
        choose_models_dir(tmp_path, 25.0, run=2001)


def test_altaz_to_dec_on_the_meridian():
    lat = LST1_LATITUDE_DEG
    assert altaz_to_dec(0.0, 0.0) == pytest.approx(lat)            # zenith
    assert altaz_to_dec(180.0, 20.0) == pytest.approx(lat - 20.0)  # south, 20 deg from zenith
    assert altaz_to_dec(0.0, 20.0) == pytest.approx(lat + 20.0)    # north
    assert altaz_to_dec(90.0, 90.0) == pytest.approx(0.0, abs=1e-9)  # east horizon: equator


def test_drive_log_window_median_and_nearest(tmp_path):
    t0 = dt.datetime(2020, 1, 27, 20, 40, tzinfo=dt.timezone.utc)
    u = int(t0.timestamp())
    log = tmp_path / "DrivePosition_log_20200127.txt"
    lines = [f"{u - 120 + 2 * i} 0.000000 0.000000" for i in range(30)]      # parked at zenith
    lines += [f"{u - 60 + 2 * i} 180.000000 {10.0 + 0.01 * i:.6f}" for i in range(200)]  # tracking south
    lines += ["0 180.0 5.0", "garbage line", ""]
    log.write_text("\n".join(lines) + "\n")
    rows = read_drive_log(log)
    assert len(rows) == 230  # time-0 and unreadable lines dropped
    # from the run start (30 rows into tracking) to 100 s later: zenith 10.30 .. 10.79 deg
    dec = drive_log_dec(rows, t0, t0 + dt.timedelta(seconds=100))
    assert dec == pytest.approx(LST1_LATITUDE_DEG - 10.545, abs=0.011)
    # naive datetimes are UTC (the night summaries' times are)
    assert drive_log_dec(rows, t0.replace(tzinfo=None), (t0 + dt.timedelta(seconds=100)).replace(tzinfo=None)) == dec
    # a run after the log ends: the nearest row within a minute, else unknown
    end = u - 60 + 2 * 199
    assert drive_log_dec(rows, dt.datetime.fromtimestamp(end + 30, dt.timezone.utc)) == pytest.approx(
        LST1_LATITUDE_DEG - 11.99)
    assert drive_log_dec(rows, dt.datetime.fromtimestamp(end + 300, dt.timezone.utc)) is None


@pytest.mark.tools
def test_drive_log_dec_of_the_synthetic_crab_tracking(tmp_path):
    """Independent check against astropy: the synthetic generator's Crab tracking (ICRS -> AltAz
    at LST-1 with astropy) read back as a declination; precession since J2000 is < 0.05 deg."""
    from synthetic_fixtures import LST_PYTHON, _need_tools

    _need_tools()
    start = dt.datetime(2020, 1, 27, 21, 0, tzinfo=dt.timezone.utc)
    code = (
        "import json, numpy as np\n"
        "from lstosa_snake.synthetic.monitoring import tracking_altaz, TARGET\n"
        f"t = np.arange({start.timestamp()}, {start.timestamp()} + 3 * 3600, 600)\n"
        "az, zen = tracking_altaz(t)\n"
        "print(json.dumps({'rows': [[float(a), float(b), float(c)] for a, b, c in zip(t, az, zen)],"
        " 'dec': TARGET['dec_deg']}))\n"
    )
    out = subprocess.run([str(LST_PYTHON), "-c", code], capture_output=True, text=True, check=True, timeout=120)
    data = json.loads(out.stdout)
    rows = [tuple(r) for r in data["rows"]]
    assert len({round(r[1]) for r in rows}) > 3  # azimuth moves: a real tracking, not the meridian
    for t, az, zen in rows:
        assert altaz_to_dec(az, zen) == pytest.approx(data["dec"], abs=0.05)
    assert drive_log_dec(rows, start, start + dt.timedelta(hours=3)) == pytest.approx(data["dec"], abs=0.05)


def test_run_models_dir_catalog_first_then_drive_log(tmp_path):
    from types import SimpleNamespace as NS

    from lstosa_snake.night.rf_models import run_models_dir, run_pointing_dec

    models = make_lines(tmp_path / "models", ["dec_2276", "dec_4822"])
    t0 = dt.datetime(2020, 1, 27, 21, 0)
    runs = [NS(run_id=1874, start=t0), NS(run_id=1875, start=t0 + dt.timedelta(minutes=20))]
    u = int(t0.replace(tzinfo=dt.timezone.utc).timestamp())
    log = tmp_path / "DrivePosition_log_20200127.txt"
    # 1874 points north of zenith at dec 45 for 20 min, then 1875 south at dec 20
    log.write_text("".join(f"{u + 10 * i} 0.0 {45 - LST1_LATITUDE_DEG:.6f}\n" for i in range(120))
                   + "".join(f"{u + 1200 + 10 * i} 180.0 {LST1_LATITUDE_DEG - 20:.6f}\n" for i in range(120)))
    catalog = {1874: NS(source_dec=22.08), 1875: NS(source_dec=None)}
    assert run_pointing_dec(1874, catalog, runs, log) == (22.08, "RunCatalog")  # the catalog wins
    dec, source = run_pointing_dec(1875, catalog, runs, log)
    assert dec == pytest.approx(20.0) and source == f"drive log {log}"
    assert run_pointing_dec(1874, {}, runs, log)[0] == pytest.approx(45.0)  # up to 1875's start only
    assert run_models_dir(models, 1874, catalog, runs, log) == models / "dec_2276"
    assert run_models_dir(models, 1874, {}, runs, log) == models / "dec_4822"
    assert run_models_dir(models, 1875, catalog, runs, log) == models / "dec_2276"
    plain = tmp_path / "plain"
    plain.mkdir()
    assert run_models_dir(plain, 1875, {}, runs, None) == plain  # no pointing needed
    with pytest.raises(ModelChoiceError, match="run 01875: pointing declination unknown"):
        run_models_dir(models, 1875, {}, runs, tmp_path / "missing.txt")
