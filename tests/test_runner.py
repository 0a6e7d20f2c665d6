"""The atomic tool runner: final paths hold complete files or nothing."""

import sys

import pytest

from lstosa_snake.jobs.runner import RunnerError, main, run_atomic

PY = sys.executable


def tool(code):
    return [PY, "-c", code]


def test_success_moves_files_and_cleans_staging(tmp_path):
    final = tmp_path / "final dir with space" / "dl1_LST-1.Run01874.0001.h5"
    wall = run_atomic(
        tool("import sys; open(sys.argv[1] + '/out.h5', 'w').write('data')") + ["{staging}"],
        {"out.h5": final}, tmp_path / "log/x.log", tmp_path / "staging", "test",
    )
    assert final.read_text() == "data" and wall >= 0
    assert list((tmp_path / "staging").iterdir()) == []
    assert "# command:" in (tmp_path / "log/x.log").read_text()


def test_failure_leaves_nothing_in_final_location(tmp_path):
    final = tmp_path / "final" / "out.h5"
    code = "import sys; open(sys.argv[1] + '/out.h5', 'w').write('half'); print('ValueError: bad pixel'); sys.exit(3)"
    with pytest.raises(RunnerError) as err:
        run_atomic(tool(code) + ["{staging}"], {"out.h5": final}, tmp_path / "x.log", tmp_path / "st",
                   "r0_to_dl1 run 01874 sub-run 0001")
    msg = str(err.value)
    assert msg.startswith("r0_to_dl1 run 01874 sub-run 0001 failed (exit 3): ValueError: bad pixel")
    assert "\n" not in msg
    assert not final.exists()
    assert list((tmp_path / "st").iterdir()) == []


def test_missing_or_empty_output_is_an_error(tmp_path):
    with pytest.raises(RunnerError, match="did not write b.h5"):
        run_atomic(tool("import sys; open(sys.argv[1] + '/a.h5', 'w').write('x')") + ["{staging}"],
                   {"a.h5": tmp_path / "a.h5", "b.h5": tmp_path / "b.h5"}, tmp_path / "l", tmp_path / "s", "t")
    assert not (tmp_path / "a.h5").exists()  # all or nothing
    with pytest.raises(RunnerError, match="empty a.h5"):
        run_atomic(tool("import sys; open(sys.argv[1] + '/a.h5', 'w')") + ["{staging}"],
                   {"a.h5": tmp_path / "a.h5"}, tmp_path / "l", tmp_path / "s", "t")


def test_stage_inputs_and_shell_metacharacters(tmp_path):
    weird = tmp_path / "in $(touch pwned) ; dir"
    weird.mkdir()
    for i in range(3):
        (weird / f"dl1_LST-1.Run01874.000{i}.h5").write_text(str(i))
    code = "import sys, os; open(sys.argv[2] + '/list', 'w').write(','.join(sorted(os.listdir(sys.argv[1]))))"
    final = tmp_path / "list"
    run_atomic(tool(code) + ["{inputs}", "{staging}"], {"list": final}, tmp_path / "l", tmp_path / "s", "t",
               stage_inputs=[weird / "dl1_LST-1.Run01874.0000.h5", weird / "dl1_LST-1.Run01874.0002.h5"])
    assert final.read_text() == "dl1_LST-1.Run01874.0000.h5,dl1_LST-1.Run01874.0002.h5"
    assert not (tmp_path / "pwned").exists()


def test_cli_exit_codes_and_message(tmp_path, capsys):
    rc = main(["--label", "merge_dl1 run 01874", "--log", str(tmp_path / "l"), "--staging-root", str(tmp_path / "s"),
               "--out", f"x={tmp_path / 'x'}", "--", PY, "-c", "import sys; sys.exit(2)"])
    assert rc == 1
    assert "ERROR: merge_dl1 run 01874 failed (exit 2)" in capsys.readouterr().err
    marker = tmp_path / "failures" / "merge_dl1_run_01874.txt"
    assert marker.read_text().startswith("merge_dl1 run 01874 failed (exit 2)")
    rc = main(["--label", "merge_dl1 run 01874", "--log", str(tmp_path / "l"), "--staging-root", str(tmp_path / "s"),
               "--out", f"x={tmp_path / 'x'}", "--", PY, "-c", "import sys; open(sys.argv[1]+'/x','w').write('1')",
               "{staging}"])
    assert rc == 0 and not marker.exists()  # a successful retry clears the failure
    rc = main(["--label", "t", "--log", str(tmp_path / "l"), "--staging-root", str(tmp_path / "s"),
               "--out", f"x={tmp_path / 'x'}", "--", PY, "-c", "import sys; open(sys.argv[1]+'/x','w').write('1')",
               "{staging}"])
    assert rc == 0 and (tmp_path / "x").read_text() == "1"


def test_tools_run_offline_for_astropy(tmp_path):
    """astropy in the tools must not wait on IERS downloads (no internet on analysis nodes)."""
    from lstosa_snake.jobs.runner import OFFLINE_XDG, tool_environment

    env = tool_environment({"PATH": "/bin"})
    cfg = (OFFLINE_XDG / "astropy" / "astropy.cfg").read_text()
    assert env["XDG_CONFIG_HOME"] == str(OFFLINE_XDG)
    assert "allow_internet = False" in cfg and "auto_download = False" in cfg
    assert "XDG_CONFIG_HOME" not in tool_environment({"LSTOSA_ASTROPY_ONLINE": "1"})


def test_output_that_is_a_staged_input_is_copied_not_linked(tmp_path):
    src = tmp_path / "datacheck_dl1_LST-1.Run01874.0000.h5"
    src.write_text("sub-run datacheck")
    final = tmp_path / "final" / "datacheck_dl1_LST-1.Run01874.h5"
    run_atomic(tool("pass"), {"_inputs/datacheck_dl1_LST-1.Run01874.0000.h5": final}, tmp_path / "l",
               tmp_path / "s", "t", stage_inputs=[src])
    assert final.read_text() == "sub-run datacheck" and not final.is_symlink()
    assert src.read_text() == "sub-run datacheck"
