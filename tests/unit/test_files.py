"""Result files and checkpoints are replaced whole or not at all, and a set of them together."""

from __future__ import annotations

import pytest

from vadlit.files import all_or_none, atomic_write, save_text, write_text_atomic


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_one(tmp_path):
    path = tmp_path / "metrics.json"
    write_text_atomic(path, "old")

    def fails_half_way(f):
        f.write(b"ne")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(path, fails_half_way)
    assert path.read_text() == "old" and _listing(tmp_path) == ["metrics.json"]
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_a_set_of_files_is_written_all_or_none(tmp_path):
    with all_or_none() as files:
        save_text(tmp_path / "scores.csv", "a", files)
        save_text(tmp_path / "metrics.json", "b", files)
        assert _listing(tmp_path) != ["metrics.json", "scores.csv"], "nothing in place before the set is complete"
    assert (tmp_path / "scores.csv").read_text() == "a" and (tmp_path / "metrics.json").read_text() == "b"

    with pytest.raises(ValueError):
        with all_or_none() as files:
            save_text(tmp_path / "scores.csv", "new a", files)
            raise ValueError("metrics could not be computed")
    assert (tmp_path / "scores.csv").read_text() == "a", "the old set stays whole"
    assert _listing(tmp_path) == ["metrics.json", "scores.csv"], "no temporary file left"
