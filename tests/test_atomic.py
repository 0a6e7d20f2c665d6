"""lstosa_snake.core.atomic: complete files or none, readable, no temporary files left behind."""

from __future__ import annotations

import json
import stat

import pytest

from lstosa_snake.core import atomic


def test_write_text_and_json_are_complete_and_world_readable(tmp_path):
    p = atomic.write_text(tmp_path / "sub" / "report.txt", "night closed\n")
    assert p.read_text() == "night closed\n"
    assert stat.S_IMODE(p.stat().st_mode) == 0o644  # mkstemp alone would leave 0600
    j = atomic.write_json(tmp_path / "night.json", {"runs": [1874], "when": tmp_path})
    assert json.loads(j.read_text()) == {"runs": [1874], "when": str(tmp_path)}
    assert sorted(x.name for x in tmp_path.iterdir()) == ["night.json", "sub"]


def test_a_failing_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    final = tmp_path / "index.html"
    final.write_text("old page\n")

    def broken(tmp):
        with open(tmp, "w") as fh:
            fh.write("half a pa")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic.write_with(final, broken)
    assert final.read_text() == "old page\n"
    assert [x.name for x in tmp_path.iterdir()] == ["index.html"]


def test_copy_file_replaces_the_destination_whole(tmp_path):
    src = tmp_path / "a.pdf"
    src.write_bytes(b"%PDF-1.4 new\n")
    dst = tmp_path / "web" / "a.pdf"
    dst.parent.mkdir()
    dst.write_bytes(b"%PDF-1.4 old\n")
    atomic.copy_file(src, dst)
    assert dst.read_bytes() == b"%PDF-1.4 new\n"
    assert sorted(x.name for x in dst.parent.iterdir()) == ["a.pdf"]
