"""Atomic writes: the old file survives a failed write and no temporary file stays behind."""
import os
import stat

import pytest

from keras_models.files import atomic_path, write_text_atomic


def test_atomic_path_keeps_the_old_file_when_the_block_raises(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("old contents")
    with pytest.raises(RuntimeError, match="writer failed"):
        with atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".keras" and tmp != target
            tmp.write_text("half-written new cont")
            raise RuntimeError("writer failed")
    assert target.read_text() == "old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_atomic_path_creates_nothing_when_the_block_raises(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "new.png"):
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_replaces_on_success(tmp_path):
    target = tmp_path / "metrics.csv"
    target.write_text("old")
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # not replaced until the block ends
    assert target.read_text() == "new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]


def test_write_text_atomic(tmp_path):
    write_text_atomic(tmp_path / "a.json", '{"epoch": 3}\n')
    write_text_atomic(tmp_path / "a.json", '{"epoch": 4}\n')
    assert (tmp_path / "a.json").read_text() == '{"epoch": 4}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
