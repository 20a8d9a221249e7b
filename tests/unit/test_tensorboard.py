"""--tensorboard: event files in the run folder with the per-epoch scalars and preview grids."""
import json

import pytest
import tensorflow as tf

from keras_models.config import ConfigError, TrainConfig
from keras_models.data import DataSplit
from keras_models.files import read_run
from keras_models.training import TrainingSession
from keras_models.events import EpochDone, JobState
from tests.helpers import make_digits, small_config


def tiny_split():
    train_x, train_y = make_digits(100, seed=1)
    val_x, val_y = make_digits(20, seed=2)
    return DataSplit("tiny", train_x, train_y, val_x, val_y)


def read_events(folder):
    """{tag: [(step, value or image size)]} of every event file under ``folder``."""
    found = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                found.setdefault(value.tag, []).append((event.step, tensor))
    return found


def test_a_run_with_tensorboard_writes_scalars_and_pictures_per_epoch(tmp_path):
    config = small_config(tmp_path, epochs=3, batch_size=50, latent_dim=2, tensorboard=True)
    # Stopped in its third epoch: a Stop leaves fit by an exception, and the event files
    # must still hold every finished epoch.
    state = JobState(on_event=lambda event: state.request_stop()
                     if isinstance(event, EpochDone) and event.record["epoch"] == 2 else None)
    result = TrainingSession.new(config, data=tiny_split(), state=state).run()
    assert result.stopped and len(result.history) == 2
    logs = result.run_dir / "tensorboard"
    train, validation, pictures = (read_events(logs / part) for part in ("train", "validation", "pictures"))
    for part in (train, validation):
        for term in ("loss", "rec", "kl", "nelbo"):
            assert [step for step, _ in part[f"epoch_{term}"]] == [1, 2]
    # The scalars are the numbers metrics.csv holds.
    assert float(train["epoch_nelbo"][1][1]) == pytest.approx(result.history[1]["nelbo"], rel=1e-5)
    assert float(validation["epoch_kl"][0][1]) == pytest.approx(result.history[0]["val_kl"], rel=1e-5)
    for tag in ("reconstructions", "samples"):
        assert [step for step, _ in pictures[tag]] == [1, 2]
        # An image summary holds width, height and the encoded PNG.
        width, height, png = pictures[tag][0][1]
        decoded = tf.io.decode_png(png).numpy()
        assert decoded.shape == (int(height), int(width), 1) and decoded.max() > decoded.min()


def test_old_config_files_load_and_the_flag_must_be_a_bool(tmp_path):
    assert TrainConfig.from_dict({"model": "vae"}).validate().tensorboard is False
    with pytest.raises(ConfigError, match="tensorboard must be true or false, got 'yes'"):
        TrainConfig(tensorboard="yes").validate()
    run = tmp_path / "run"
    run.mkdir()
    config = TrainConfig(dataset="mnist-5k").to_dict()
    del config["tensorboard"]
    (run / "config.json").write_text(json.dumps({"config": config, "data": {"name": "mnist-5k"}}))
    assert read_run(run).config.tensorboard is False


def test_the_command_line_flags_reach_the_settings(tmp_path):
    import main
    from keras_models.study.cli import study_config

    parser = main.build_parser()
    assert parser.parse_args(["train", "--tensorboard"]).tensorboard is True
    assert parser.parse_args(["train"]).tensorboard is None  # unset: --resume takes the run's own
    args = parser.parse_args(["study", "--tensorboard", "--out", str(tmp_path)])
    assert study_config(args).training.tensorboard is True
    assert study_config(parser.parse_args(["study", "--out", str(tmp_path)])).training.tensorboard is False
