"""KL schedules in the model: the weight or C each epoch trains with, kept in the .keras file and
continued by a resume; the NELBO stays the unweighted rec + KL."""
import json

import numpy as np
import pytest

from keras_models.files import read_metrics
from keras_models.models import VAE, build_model
from keras_models.schedules import CAPACITY, WARMUP, KLSchedule
from keras_models.training import TrainingSession, load_model_file
from tests.helpers import make_digits, small_config


@pytest.fixture
def digits():
    from keras_models.data import DataSplit

    train_x, train_y = make_digits(120, seed=1)
    val_x, val_y = make_digits(40, seed=2)
    return DataSplit("tiny", train_x, train_y, val_x, val_y)


def test_a_warmup_survives_save_load_and_resume_and_its_weight_continues(tmp_path, digits):
    # Warm-up over 1 epoch to β = 2: weight 0 in epoch 1, 2 from epoch 2. A resume that restarted
    # the schedule would train epoch 2 with weight 0 again.
    config = small_config(tmp_path, beta=2.0, epochs=1, batch_size=40, latent_dim=2, kl_warmup=1)
    first = TrainingSession.new(config, data=digits).run()
    assert json.loads((first.run_dir / "config.json").read_text())["config"]["kl_warmup"] == 1

    saved = load_model_file(first.run_dir / "model.keras")
    assert saved.schedule == KLSchedule(WARMUP, beta=2.0, epochs=1)
    resumed = TrainingSession.resume(first.run_dir, 1, data=digits).run()

    rows = read_metrics(first.run_dir / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1.0, 2.0]
    assert [r["kl_weight"] for r in rows] == [0.0, 2.0]
    assert "capacity" not in rows[0]
    for row, weight in zip(rows, (0.0, 2.0)):
        # loss is what was minimised; the NELBO the true rec + KL, whatever the weight.
        assert row["val_loss"] == pytest.approx(row["val_rec"] + weight * row["val_kl"], rel=1e-4)
        assert row["val_nelbo"] == pytest.approx(row["val_rec"] + row["val_kl"], rel=1e-4)
    assert float(resumed.model.schedule_value.numpy()) == 2.0


def test_cycles_change_the_weight_every_epoch_without_retracing_the_train_step(tmp_path, digits):
    config = small_config(tmp_path, beta=4.0, epochs=4, batch_size=40, latent_dim=2, kl_cycles=2)
    session = TrainingSession.new(config, data=digits)
    traced = []
    step = session.model.train_step
    session.model.train_step = lambda data: traced.append(1) or step(data)  # runs only while tracing
    result = session.run()
    assert [r["kl_weight"] for r in result.history] == [0.0, 4.0, 0.0, 4.0]
    assert [r["loss"] > r["rec"] for r in result.history] == [False, True, False, True]
    # Keras traces the step twice as fit starts, with or without a schedule (2 for 1 epoch or 8);
    # one trace more per new weight would make it 5.
    assert len(traced) <= 2, traced


def test_capacity_loss_holds_the_kl_at_c_times_gamma_and_the_step_reads_c(tmp_path):
    config = small_config(tmp_path, epochs=4, latent_dim=2, capacity=6.0, capacity_epochs=3, gamma=5.0)
    model = build_model(config, (8, 8, 1))
    assert model.schedule == KLSchedule(CAPACITY, epochs=3, capacity=6.0, gamma=5.0)
    images = make_digits(20, size=8)[0]
    results = []
    for epoch, capacity in ((1, 0.0), (2, 2.0), (4, 6.0)):
        assert model.start_epoch(epoch) == capacity
        terms = model.evaluate(images, batch_size=20, verbose=0, return_dict=True)
        results.append(terms)
        assert terms["loss"] == pytest.approx(terms["rec"] + 5.0 * abs(terms["kl"] - capacity), rel=1e-5)
        assert terms["nelbo"] == pytest.approx(terms["rec"] + terms["kl"], rel=1e-5)
    # The same weights and images: only C moved, and the compiled step saw it.
    assert len({round(r["loss"], 3) for r in results}) == 3


def test_a_schedule_lives_in_the_model_file_and_models_without_one_keep_their_variables(tmp_path):
    config = small_config(tmp_path, beta=3.0, epochs=6, latent_dim=2, kl_cycles=2)
    model = build_model(config, (8, 8, 1))
    model.start_epoch(2)
    model.optimizer.build(model.trainable_variables)  # as after training, so the file holds its slots
    path = tmp_path / "cycles.keras"
    model.save(path)
    loaded = load_model_file(path)
    assert loaded.get_config()["schedule"] == {"kind": "cycles", "beta": 3.0, "epochs": 6, "cycles": 2,
                                               "capacity": 0.0, "gamma": KLSchedule("cycles").gamma}
    assert float(loaded.schedule_value.numpy()) == pytest.approx(2.0)  # epoch 2 of 3-epoch cycles: β·(1/3)/0.5
    plain = build_model(small_config(tmp_path, latent_dim=2), (8, 8, 1))
    assert "schedule" not in plain.get_config() and plain.start_epoch(1) is None
    assert len(plain.non_trainable_weights) == len(model.non_trainable_weights) - 1
    assert isinstance(loaded, VAE) and np.isfinite(loaded.sample(2, seed=0)).all()


def test_a_warmup_longer_than_the_epochs_sized_to_the_data_says_where_they_came_from(tmp_path, digits):
    from keras_models.config import ConfigError

    config = small_config(tmp_path / "runs", epochs=None, kl_warmup=150)  # 120 images: 100 epochs chosen
    with pytest.raises(ConfigError, match=r"at most 100, got 150 \(auto sized the epochs to 100 for 120 training images"):
        TrainingSession.new(config, data=digits)
    assert not (tmp_path / "runs").exists()
