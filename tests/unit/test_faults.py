"""Faults around a run folder: a full disk, a save killed half-way, an offline fallback."""
import dataclasses
import json
import os
import re
import shutil
import time

import pytest

from keras_models.data import DatasetUnavailable, offline, tfds_sets
from keras_models.files import DiskFull, RunError, format_size, read_metrics, read_run
from keras_models.training import TrainingSession, load_model_file, save_model_atomic
from tests.helpers import full_disk, small_config, write_fake_run

STEPS = 8  # 400 training images in batches of 50


def saved_iterations(run_dir):
    return int(load_model_file(run_dir / "model.keras").optimizer.iterations)


def hidden_files(run_dir):
    return sorted(p.name for p in run_dir.rglob(".*"))


# ----- a full disk ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name_start, after, failed_file, epochs, kept", [
    (".model-", 1, "model.keras", 3, 1),  # the checkpoint of epoch 2
    (".metrics-", 1, "metrics.csv", 3, 1),  # the row of epoch 2
    (".checkpoint-", 1, "checkpoint.json", 3, 1),  # the epoch number of the checkpoint of epoch 2
    (".samples-", 0, "grids/samples.png", 2, 2),  # the grids, after the last checkpoint
])
def test_a_full_disk_keeps_the_last_good_checkpoint(tmp_path, tiny_split, monkeypatch, name_start, after,
                                                    failed_file, epochs, kept):
    refused = full_disk(monkeypatch, name_start, after)
    session = TrainingSession.new(small_config(tmp_path, epochs=epochs), data=tiny_split)
    run_dir = session.run_dir
    with pytest.raises(DiskFull) as info:
        session.run()
    size = format_size((run_dir / "model.keras").stat().st_size)
    assert str(info.value) == (f"no space left on device writing {run_dir / failed_file}: a checkpoint needs about "
                               f"{size} free (the size of the last model.keras); kept the checkpoint from epoch "
                               f"{kept} in {run_dir}")
    assert len(refused) == 1 and refused[0].parent == (run_dir / failed_file).parent
    # Nothing half-written: the temporary is gone, the files it was to replace are whole.
    assert hidden_files(run_dir) == []
    assert json.loads((run_dir / "checkpoint.json").read_text()) == {"epoch": kept}
    assert saved_iterations(run_dir) == kept * STEPS
    assert [row["epoch"] for row in read_metrics(run_dir / "metrics.csv")][:kept] == list(range(1, kept + 1))
    assert [row["epoch"] for row in read_run(run_dir).history] == list(range(1, kept + 1))


def test_a_full_disk_before_any_checkpoint_estimates_the_room_from_the_weights(tmp_path, tiny_split, monkeypatch):
    full_disk(monkeypatch, ".model-")
    session = TrainingSession.new(small_config(tmp_path, epochs=1, latent_dim=8), data=tiny_split)
    run_dir = session.run_dir
    with pytest.raises(DiskFull, match=r"model.keras: a checkpoint needs about (\S+ \S+) free \(estimated from "
                                       r"the weights\); no checkpoint had been written yet in ") as info:
        session.run()
    assert not (run_dir / "model.keras").exists() and not (run_dir / "checkpoint.json").exists()
    assert hidden_files(run_dir) == []

    # The estimate is close to what a save takes; saving elsewhere (no temporary name) still works.
    session.model.save(tmp_path / "real.keras")
    number, unit = re.search(r"needs about (\S+) (\S+) free", str(info.value)).groups()
    estimate = float(number) * {"bytes": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[unit]
    real = (tmp_path / "real.keras").stat().st_size
    assert 0.5 < estimate / real < 2, (estimate, real)

    # The window's Save model goes through the same function: one line, the old file intact.
    (tmp_path / "kept.keras").write_bytes(b"an older model")
    full_disk(monkeypatch, ".kept-")
    with pytest.raises(DiskFull, match=r"^no space left on device saving .*kept.keras: it needs about 14 bytes "
                                       r"free \(the size of the last kept.keras\)$"):
        save_model_atomic(session.model, tmp_path / "kept.keras")
    assert (tmp_path / "kept.keras").read_bytes() == b"an older model"


# ----- a save killed half-way -------------------------------------------------------------------------
def test_opening_a_run_clears_the_temporaries_of_a_killed_save_and_nothing_else(tmp_path):
    run_dir = write_fake_run(tmp_path / "run")
    stale = [run_dir / ".model-abcd1234.keras", run_dir / ".metrics-x_y9z0ab.csv",
             run_dir / ".checkpoint-qwertyui.json", run_dir / ".config-00000000.json",
             run_dir / "grids" / ".samples-abcdefgh.png", run_dir / "grids" / ".traversal_all_dims-a1b2c3d4.gif"]
    fresh = run_dir / ".model-fresh123.keras"  # perhaps another process saving right now
    others = [run_dir / ".model-abc.keras", run_dir / "notes-abcd1234.txt", run_dir / ".hidden",
              run_dir / ".model-abcd1234.keras.bak", run_dir / ".other-abcd1234.keras", run_dir / "model.keras",
              run_dir / "grids" / ".notes-abcd1234.txt", run_dir / "grids" / "samples-abcd1234.png"]
    an_hour_ago = time.time() - 3600
    for path in [*stale, fresh, *others]:
        path.write_bytes(b"x")
        if path is not fresh:
            os.utime(path, (an_hour_ago, an_hour_ago))

    read_run(run_dir)
    assert [p for p in stale if p.exists()] == []
    assert fresh.exists() and all(p.exists() for p in others)
    assert (run_dir / "metrics.csv").exists() and (run_dir / "grids" / "traversal_dim3.png").exists()


def test_resuming_clears_every_temporary_of_the_run(tmp_path, tiny_split, cli_run):
    run_dir = tmp_path / "run"
    shutil.copytree(cli_run[0], run_dir)  # the session's shared run, trained once
    fresh = run_dir / ".model-fresh123.keras"
    fresh.write_bytes(b"half a model")
    TrainingSession.resume(run_dir, 1, data=tiny_split)  # a resumed run has no other writer
    assert not fresh.exists()
    assert (run_dir / "model.keras").exists()


# ----- the offline fallback ---------------------------------------------------------------------------
@pytest.fixture
def offline_then_online(monkeypatch, tiny_split):
    """mnist cannot be downloaded (the offline set is the tiny split) until ``online()`` is called;
    then it loads another split, named mnist. Returns (online, the mnist downloads made)."""
    downloads = []

    def unreachable(name, data_dir=None, network_timeout=5.0):
        raise DatasetUnavailable(f"cannot download {name}: storage.googleapis.com is unreachable (no network?)")

    def reachable(name, data_dir=None, network_timeout=5.0):
        downloads.append(name)
        return dataclasses.replace(tiny_split, name=name, train_x=tiny_split.train_x[::-1])

    monkeypatch.setattr(tfds_sets, "load_tfds", unreachable)
    monkeypatch.setattr(offline, "load_mnist_5k", lambda: dataclasses.replace(tiny_split, name="mnist-5k"))
    return (lambda: monkeypatch.setattr(tfds_sets, "load_tfds", reachable)), downloads


def test_a_fallback_run_records_both_sets_and_resumes_on_the_one_it_trained_on(tmp_path, offline_then_online):
    online, downloads = offline_then_online
    first = TrainingSession.new(small_config(tmp_path, dataset="mnist")).run()
    saved = json.loads((first.run_dir / "config.json").read_text())
    assert saved["config"]["dataset"] == "mnist"
    assert (saved["data"]["requested"], saved["data"]["trained_on"]) == ("mnist", "mnist-5k")
    assert "using the offline mnist-5k set instead" in saved["data"]["notice"]

    online()
    run = read_run(first.run_dir)
    assert (run.config.dataset, run.fell_back_from) == ("mnist-5k", "mnist")
    session = TrainingSession.resume(first.run_dir, 1)
    assert session.data.name == "mnist-5k" and downloads == []
    assert session.data.notice == ("this run trained on mnist-5k because mnist could not be loaded when it "
                                   "started; it continues on mnist-5k")
    assert [row["epoch"] for row in session.run().history] == [1.0, 2.0]

    # A run written before "trained_on" was recorded: after a fallback, its "name" says the set.
    del saved["data"]["requested"], saved["data"]["trained_on"]
    (first.run_dir / "config.json").write_text(json.dumps(saved))
    assert read_run(first.run_dir).config.dataset == "mnist-5k"


def test_a_resume_never_continues_on_a_stand_in_set(tmp_path, offline_then_online, monkeypatch, tiny_split):
    online, _ = offline_then_online
    online()
    run_dir = TrainingSession.new(small_config(tmp_path, dataset="mnist")).run().run_dir
    assert read_run(run_dir).fell_back_from is None

    monkeypatch.setattr(tfds_sets, "load_tfds", lambda *a, **k: (_ for _ in ()).throw(
        DatasetUnavailable("cannot download mnist: storage.googleapis.com is unreachable (no network?)")))
    with pytest.raises(DatasetUnavailable, match="^cannot download mnist: .* unreachable"):
        TrainingSession.resume(run_dir, 1)
    # The window loads the data itself, with the fallback: the stand-in it gets is refused.
    stand_in = dataclasses.replace(tiny_split, name="mnist-5k", notice="cannot download mnist; using mnist-5k")
    with pytest.raises(RunError, match=f"^{run_dir} was trained on mnist, which cannot be loaded now; a resume "
                                       f"continues on the same data only, not on mnist-5k$"):
        TrainingSession.resume(run_dir, 1, data=stand_in)
    assert json.loads((run_dir / "checkpoint.json").read_text()) == {"epoch": 1}
