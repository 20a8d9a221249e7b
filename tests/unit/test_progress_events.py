"""Every long step reports StageProgress: done counts up to total, with the time left from the
pace so far. Tiny data throughout; the clock is a fake wherever a time is checked."""
import io

import numpy as np
import pytest

from keras_models.config import TrainConfig
from keras_models.events import JobState, ProgressMeter, StageProgress, TrainingSized
from keras_models.progress_bars import TerminalProgress
from tests.helpers import make_digits


def recorder():
    events = []
    return events, JobState(on_event=events.append)


def progress_of(events, stage_start):
    steps = [e for e in events if isinstance(e, StageProgress) and e.stage.startswith(stage_start)]
    assert steps, f"no progress reported for {stage_start!r}: {[getattr(e, 'stage', e) for e in events]}"
    return steps


def assert_counts_up(steps):
    done = [e.done for e in steps]
    assert done == sorted(done) and done[0] == 0 and done[-1] == steps[-1].total
    assert len({e.total for e in steps}) == 1


def test_meter_eta_from_the_pace_so_far():
    times = iter([0.0, 0.0, 2.0, 2.1, 10.0])  # start, first event, then one per update
    events, state = recorder()
    meter = ProgressMeter(state, "step", 5, clock=lambda: next(times))
    meter.update(1)  # 2 s for 1 of 5: 8 s left
    meter.update(2)  # 0.1 s after the last event: not reported
    meter.update(5)  # the last unit is always reported
    assert [(e.done, e.total, e.eta_s) for e in events] == [(0, 5, None), (1, 5, 8.0), (5, 5, 0.0)]


def test_meter_without_a_job_and_past_the_total():
    meter = ProgressMeter(None, "step", 3)
    meter.update(7)
    assert meter.done == 3


def test_terminal_bars():
    stream = io.StringIO()
    bars = TerminalProgress(stream)
    for event in (StageProgress("rendering", 0, 4, None), StageProgress("rendering", 2, 4, 1.0),
                  StageProgress("measuring", 0, 2, None), StageProgress("measuring", 2, 2, 0.0)):
        bars(event)
    text = stream.getvalue()
    assert "rendering:  50%" in text and "measuring: 100%" in text and "2/2" in text


def test_classifier_training_and_frechet_distance_report_progress():
    from keras_models import classifier, evaluation
    from keras_models.data import DataSplit
    from keras_models.models import build_model

    train_x, train_y = make_digits(256, seed=1)
    val_x, val_y = make_digits(20, seed=2)
    events, state = recorder()
    trained = classifier.train_classifier(DataSplit("tiny", train_x, train_y, val_x, val_y), epochs=1, state=state)
    steps = progress_of(events, "training the evaluation classifier")
    assert steps[-1].total == 2  # 256 images at batch 128
    assert_counts_up(steps)

    model = build_model(TrainConfig(latent_dim=2).validate())
    events.clear()
    evaluation.evaluate(model, val_x, val_y, k=8, classifier=trained, state=state)
    iwae = progress_of(events, "IWAE bound (k = 8) on 20 images")
    assert_counts_up(iwae)
    frechet = progress_of(events, "Fréchet distance on 20 samples")
    assert_counts_up(frechet)
    assert frechet[-1].total == 4


def test_iwae_reports_each_decoder_call():
    from keras_models.evaluation import likelihood_bounds
    from keras_models.models import build_model

    model = build_model(TrainConfig(latent_dim=2).validate())
    events, state = recorder()
    images = (make_digits(20)[0] > 0.5).astype("float32")
    likelihood_bounds(model, images, k=8, batch_images=5, state=state)
    steps = progress_of(events, "IWAE bound")
    assert steps[-1].total == 4  # 4 batches of 5 images, all 8 samples in one call each
    assert_counts_up(steps)


def test_shapes_rendering_reports_each_sprite(tmp_path, monkeypatch):
    from keras_models.data import shapes

    bank = shapes._sprite_bank()[:1, :1, :3]  # three sprites: three blocks of positions
    monkeypatch.setattr(shapes, "_sprite_bank", lambda: bank)
    events, state = recorder()
    images, _ = shapes.build_shapes(28, cache_dir=tmp_path, state=state)
    steps = progress_of(events, "rendering the shapes at 28×28")
    assert steps[-1].total == 3
    assert_counts_up(steps)
    assert images[:3 * 32 * 32].max() > 0


def test_disentanglement_reports_its_steps():
    from keras_models.data import DataSplit, shapes
    from keras_models.models import build_model
    from keras_models.study.trial import disentanglement_numbers

    rng = np.random.default_rng(0)
    factors = shapes.sample_factors(60, rng)
    images = shapes.to_images(shapes.render_images(factors))
    data = DataSplit("shapes", images, factors[:, 0].copy(), images, factors[:, 0].copy(), train_factors=factors,
                     val_factors=factors, factor_names=shapes.factor_names)
    events, state = recorder()
    numbers = disentanglement_numbers(build_model(TrainConfig(latent_dim=2).validate()), data, state)
    assert set(numbers) == {"mig", "dci_disentanglement", "dci_completeness", "factor_vae"}
    steps = progress_of(events, "MIG, DCI and FactorVAE")
    assert steps[-1].total == 5
    assert_counts_up(steps)


def test_offline_fallback_reports_the_download_step(no_network):
    from keras_models.data import load_dataset

    events, state = recorder()
    split = load_dataset("mnist", state=state, network_timeout=0.1)
    assert split.name == "mnist-5k" and split.notice
    assert_counts_up(progress_of(events, "loading mnist"))


def test_a_new_session_on_auto_reports_the_size_it_chose(tmp_path, tiny_split):
    from keras_models.training import TrainingSession

    events, state = recorder()
    config = TrainConfig(epochs=None, batch_size=None, latent_dim=2, out=str(tmp_path))
    session = TrainingSession.new(config, data=tiny_split, state=state)
    (sized,) = [e for e in events if isinstance(e, TrainingSized)]
    # 400 images: batch 10 gives 40 steps an epoch; 90,000 images seen would take 225 epochs, capped at 100
    assert (sized.batch_size, sized.epochs) == (10, 100)
    assert (session.config.batch_size, session.config.epochs) == (10, 100)
    assert sized.reason == "batch 10, 100 epochs: 4,000 steps over 400 training images"
