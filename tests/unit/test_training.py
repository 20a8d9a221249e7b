"""Training sessions: learning, run folders, stopping, resuming and divergence."""
import csv
import datetime as dt
import json
import re
import shutil

import keras
import numpy as np
import pytest
from keras import ops
from PIL import Image

from keras_models.config import ConfigError
from keras_models.events import BatchProgress, EpochDone, JobState, RunStarted
from keras_models.files import RunError, read_metrics, read_run
from keras_models.formatting import summary_line
from keras_models.models import VAE, ConditionalVAE
from keras_models.training import (METRIC_COLUMNS, TrainingDiverged, TrainingSession, create_run_dir,
                                   load_model_file, metrics_csv_text)
from tests.helpers import session_poisoned_at_start, small_config


class Recorder(JobState):
    """A job state that keeps every event, sorted by kind."""

    def __init__(self, **kwargs):
        self.events = []
        super().__init__(on_event=self.events.append, **kwargs)

    def of(self, kind):
        return [event for event in self.events if isinstance(event, kind)]


def csv_rows(run_dir):
    with (run_dir / "metrics.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def optimizer_state(model):
    return {v.path: np.asarray(ops.convert_to_numpy(v)) for v in model.optimizer.variables}


def test_short_training_lowers_the_validation_nelbo(tmp_path, tiny_split):
    # One checkpoint, at the end: the curve is what is tested here, not seven more saves.
    config = small_config(tmp_path, epochs=8, batch_size=20, latent_dim=4, ckpt_every=8)
    session = TrainingSession.new(config, data=tiny_split)
    untrained = session.model.evaluate(tiny_split.val_x, tiny_split.val_y, batch_size=100,
                                       verbose=0, return_dict=True)["nelbo"]
    result = session.run()
    val = [row["val_nelbo"] for row in result.history]
    assert len(val) == 8
    # A grey decoder would cost 784 · log 2 = 543 nats an image; one started at the data mean
    # costs about the entropy of the mean image's pixels, far less.
    mean = np.clip(tiny_split.train_x.mean(axis=0), 1e-3, 1 - 1e-3)
    mean_image_entropy = -np.sum(mean * np.log(mean) + (1 - mean) * np.log(1 - mean))
    assert untrained < 543
    assert untrained == pytest.approx(mean_image_entropy, rel=0.25)
    assert val[0] < untrained
    assert val[-1] < 0.85 * val[0], val
    assert val[-1] < min(val[:4]), val


def test_new_session_writes_a_complete_run_folder(tmp_path, tiny_split):
    state = Recorder()
    config = small_config(tmp_path / "runs", epochs=2, batch_size=50, latent_dim=4, beta=2.0)
    session = TrainingSession.new(config, data=tiny_split, state=state)
    run_dir = session.run_dir
    assert run_dir.parent == tmp_path / "runs"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d{4}_bvae_b2", run_dir.name)
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["config"] == config.to_dict()
    # A split the caller made stands for the configured set: there was no fallback.
    assert saved["data"] == {"requested": "mnist-5k", "trained_on": "mnist-5k", "name": "tiny", "train": 400,
                             "validation": 100, "notice": None}
    assert saved["versions"]["keras"] == keras.__version__

    result = session.run()
    assert result.run_dir == run_dir and not result.stopped
    rows = csv_rows(run_dir)
    assert list(rows[0]) == METRIC_COLUMNS
    assert [row["epoch"] for row in rows] == ["1", "2"]
    for row, record in zip(rows, result.history):
        assert float(row["val_nelbo"]) == pytest.approx(record["val_nelbo"], rel=1e-5)
        assert float(row["loss"]) == pytest.approx(float(row["rec"]) + 2.0 * float(row["kl"]), rel=1e-4)
    assert json.loads((run_dir / "checkpoint.json").read_text()) == {"epoch": 2}

    model = load_model_file(run_dir / "model.keras")
    assert type(model) is VAE and model.beta == 2.0 and model.latent_dim == 4
    assert int(model.optimizer.iterations) == 2 * 8
    pngs = sorted(p.name for p in (run_dir / "grids").iterdir())
    assert pngs == ["interpolation.png", "latent_map.png", "reconstructions.png", "samples.png",
                    "traversal_all_dims.gif", "traversal_all_dims.png", "traversal_dim3.png"]
    for name in pngs:
        with Image.open(run_dir / "grids" / name) as image:
            assert image.format == ("GIF" if name.endswith(".gif") else "PNG") and image.width > 56
    assert not [p for p in run_dir.rglob(".*")]  # no temporary files left

    # What the job's state heard, in order: the start, then batches and epochs.
    (start,) = state.of(RunStarted)
    assert state.events[0] is start
    assert start.steps == 8 and start.initial_epoch == 0 and start.run_dir == str(run_dir)
    assert [e.record["epoch"] for e in state.of(EpochDone)] == [1.0, 2.0]
    assert all(e.pictures is None for e in state.of(EpochDone))  # nobody asked for pictures
    batches = state.of(BatchProgress)
    # 8 steps an epoch: short epochs train one batch a compiled call, so every batch is reported.
    assert len(batches) == 16
    last = batches[-1]
    assert (last.epoch, last.batch, last.steps, last.eta_s) == (2, 8, 8, 0)


def test_stop_requested_during_training_stops_within_one_batch(tmp_path, tiny_split):
    iterations_when_stopped = []

    def stop_at_first_batch(model, data):
        if not iterations_when_stopped:
            iterations_when_stopped.append(int(model.optimizer.iterations))
            state.request_stop()

    state = JobState(on_model=stop_at_first_batch)
    session = TrainingSession.new(small_config(tmp_path, epochs=3, batch_size=50), data=tiny_split, state=state)
    result = session.run()
    assert result.stopped
    assert iterations_when_stopped == [1]
    assert int(result.model.optimizer.iterations) <= iterations_when_stopped[0] + 1
    # The unfinished epoch is not recorded as an epoch, but its training is kept.
    assert result.history == []
    assert not (session.run_dir / "metrics.csv").exists()
    assert json.loads((session.run_dir / "checkpoint.json").read_text()) == {"epoch": 0}
    assert int(load_model_file(session.run_dir / "model.keras").optimizer.iterations) == \
        int(result.model.optimizer.iterations)


def test_stop_requested_before_the_run_stops_after_one_batch(tmp_path, tiny_split):
    session = TrainingSession.new(small_config(tmp_path, epochs=2, batch_size=50), data=tiny_split)
    session.state.request_stop()
    result = session.run()
    assert result.stopped and int(result.model.optimizer.iterations) == 1


def test_resume_continues_from_the_checkpoint(tmp_path, tiny_split):
    first = TrainingSession.new(small_config(tmp_path, model="cvae", epochs=2, batch_size=50),
                                data=tiny_split).run()
    run_dir = first.run_dir
    before_csv = (run_dir / "metrics.csv").read_text()
    before_state = optimizer_state(first.model)
    assert int(first.model.optimizer.iterations) == 16

    state = Recorder()
    session = TrainingSession.resume(run_dir, 1, data=tiny_split, state=state)
    assert type(session.model) is ConditionalVAE
    assert session.initial_epoch == 2 and session.config.epochs == 3
    resumed_state = optimizer_state(session.model)
    assert resumed_state.keys() == before_state.keys()
    for key in before_state:
        np.testing.assert_array_equal(resumed_state[key], before_state[key], err_msg=key)

    result = session.run()
    assert state.of(RunStarted)[0].initial_epoch == 2
    assert [int(r["epoch"]) for r in result.history] == [1, 2, 3]
    assert int(result.model.optimizer.iterations) == 24
    after_csv = (run_dir / "metrics.csv").read_text()
    assert after_csv.startswith(before_csv)
    assert [row["epoch"] for row in csv_rows(run_dir)] == ["1", "2", "3"]
    assert json.loads((run_dir / "checkpoint.json").read_text()) == {"epoch": 3}
    assert int(load_model_file(run_dir / "model.keras").optimizer.iterations) == 24
    assert len(list((run_dir / "grids").glob("*.png"))) == 8  # the CVAE adds two class grids


def test_resume_refuses_bad_epochs_and_non_runs(tmp_path, tiny_split, cli_run):
    with pytest.raises(RunError, match="not a run folder"):
        TrainingSession.resume(tmp_path, 1, data=tiny_split)
    run_dir = tmp_path / "run"  # a copy of the session's shared run, which other tests use too
    shutil.copytree(cli_run[0], run_dir)
    for bad in (0, -2, True, 1.5):
        with pytest.raises(ConfigError, match="epochs must be a whole number"):
            TrainingSession.resume(run_dir, bad, data=tiny_split)
    assert json.loads((run_dir / "checkpoint.json").read_text()) == {"epoch": 1}


def test_nan_raises_training_diverged_and_keeps_the_good_checkpoint(tmp_path, tiny_split):
    def poison_after_epoch_1(model, data):
        if state.of(EpochDone) and len(state.of(EpochDone)) == 1 and isinstance(state.events[-1], EpochDone):
            kernel = model.decoder.get_layer("decoder_output").kernel
            poisoned = np.array(ops.convert_to_numpy(kernel))
            poisoned[0, 0] = np.nan
            kernel.assign(poisoned)

    state = Recorder(on_model=poison_after_epoch_1)
    session = TrainingSession.new(small_config(tmp_path, epochs=3, batch_size=50), data=tiny_split, state=state)
    with pytest.raises(TrainingDiverged, match=r"NaN at epoch 2, batch 1; kept the checkpoint from epoch 1") as info:
        session.run()
    run_dir = session.run_dir
    assert json.loads((run_dir / "checkpoint.json").read_text()) == {"epoch": 1}
    assert [row["epoch"] for row in csv_rows(run_dir)] == ["1"]
    saved = load_model_file(run_dir / "model.keras")
    assert all(np.all(np.isfinite(ops.convert_to_numpy(w))) for w in saved.weights)
    assert int(saved.optimizer.iterations) == 8
    z = np.random.default_rng(0).normal(size=(4, saved.latent_dim)).astype("float32")
    assert np.all(np.isfinite(saved.decode(z)))
    assert np.all(np.isfinite(saved.encode(tiny_split.val_x[:4])[0]))
    # The error carries the reloaded good model, not the poisoned one.
    assert np.all(np.isfinite(info.value.model.decode(z)))


def test_nan_before_any_checkpoint(tmp_path, tiny_split):
    session = session_poisoned_at_start(small_config(tmp_path, epochs=2, batch_size=50), tiny_split)
    with pytest.raises(TrainingDiverged, match="epoch 1, batch 1; no checkpoint had been written yet") as info:
        session.run()
    assert info.value.model is None
    assert not (session.run_dir / "model.keras").exists()
    assert not (session.run_dir / "checkpoint.json").exists()


# ----- run-folder helpers --------------------------------------------------------------------------
def test_create_run_dir_names_and_suffixes(tmp_path):
    now = dt.datetime(2026, 3, 4, 5, 6)
    first = create_run_dir(tmp_path / "out", "cvae_b0.5", now)
    second = create_run_dir(tmp_path / "out", "cvae_b0.5", now)
    third = create_run_dir(tmp_path / "out", "cvae_b0.5", now)
    assert [p.name for p in (first, second, third)] == [
        "2026-03-04_0506_cvae_b0.5", "2026-03-04_0506_cvae_b0.5_2", "2026-03-04_0506_cvae_b0.5_3"]
    assert all(p.is_dir() for p in (first, second, third))


def test_create_run_dir_under_a_regular_file_is_a_run_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunError, match=r"cannot write to output folder .*file/sub"):
        create_run_dir(tmp_path / "file" / "sub", "vae_b1")


def test_metrics_csv_round_trip(tmp_path):
    history = [{"epoch": 1.0, "loss": 200.123456789, "rec": 180.0, "kl": 20.123456789, "nelbo": 200.123456789,
                "val_loss": 190.0, "val_rec": 175.0, "val_kl": 15.0, "val_nelbo": 190.0, "time_s": 1.5,
                "extra": 9.0}]
    text = metrics_csv_text(history)
    assert text.splitlines()[0] == ",".join(METRIC_COLUMNS)
    assert text.splitlines()[1] == "1,200.123,180,20.1235,200.123,190,175,15,190,1.5"
    (tmp_path / "metrics.csv").write_text(text)
    back = read_metrics(tmp_path / "metrics.csv")
    assert back == [{"epoch": 1.0, "loss": 200.123, "rec": 180.0, "kl": 20.1235, "nelbo": 200.123,
                     "val_loss": 190.0, "val_rec": 175.0, "val_kl": 15.0, "val_nelbo": 190.0, "time_s": 1.5}]
    assert read_metrics(tmp_path / "absent" / "metrics.csv") == []


def test_read_run_keeps_only_checkpointed_epochs(tmp_path):
    config = small_config(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"config": config.to_dict()}))
    rows = [{"epoch": float(e), **{c: 100.0 - e for c in METRIC_COLUMNS[1:]}} for e in (1, 2, 3)]
    (tmp_path / "metrics.csv").write_text(metrics_csv_text(rows))
    (tmp_path / "checkpoint.json").write_text(json.dumps({"epoch": 2}))
    run = read_run(tmp_path)
    assert run.config == config and run.saved["config"] == config.to_dict()
    assert [row["epoch"] for row in run.history] == [1.0, 2.0]
    assert run.evaluation is None


def test_read_run_refuses_a_bad_config(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(RunError, match="unreadable .*config.json"):
        read_run(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"config": {"model": "gan"}}))
    with pytest.raises(RunError, match="unknown model 'gan'"):
        read_run(tmp_path)


def test_load_model_file_errors(tmp_path):
    with pytest.raises(RunError, match="no model file at .*absent.keras"):
        load_model_file(tmp_path / "absent.keras")

    model = VAE(latent_dim=2, hidden_units=(8,), precision="float32")
    model.save(tmp_path / "whole.keras")
    raw = (tmp_path / "whole.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(RunError, match=r"cannot load model .*cut.keras: not a complete .keras file \(truncated"):
        load_model_file(tmp_path / "cut.keras")
    # A zip archive that is not a Keras file goes through Keras and still becomes a RunError.
    import zipfile
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(RunError, match="cannot load model .*other.keras: "):
        load_model_file(tmp_path / "other.keras")

    foreign = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    foreign.save(tmp_path / "foreign.keras")
    with pytest.raises(RunError, match="foreign.keras holds a Sequential, not a model made by this tool"):
        load_model_file(tmp_path / "foreign.keras")
    assert type(load_model_file(tmp_path / "whole.keras")) is VAE


def test_summary_line():
    record = {"epoch": 3.0, "loss": 101.234, "kl": 5.0, "time_s": 2.0}
    assert summary_line(record) == "epoch 3: loss 101.23  kl 5.00"
