"""The study's time estimate: arithmetic on given throughputs (known values), its text, the
per-machine cache, and the test images a study measures by default."""
import pytest

from keras_models.config import TrainConfig
from keras_models.study import estimate
from keras_models.study.config import StudyConfig
from keras_models.study.estimate import StudyWork, Throughput, estimate_study, estimate_text

SPEED = Throughput(train_images_per_s=10_000.0, iwae_pairs_per_s=1_000_000.0, classifier_images_per_s=1_000.0)


def test_stages_from_given_throughput():
    work = StudyWork(trials=4, epochs=10, train_images=60_000, validation_images=10_000, test_images=10_000,
                     k=1000, classifier_images=120_000)
    stages = dict(estimate_study(work, SPEED))
    assert stages["evaluation classifier"] == pytest.approx(120.0)  # 120,000 images at 1,000/s
    # per epoch (60,000 + 10,000 / 3) / 10,000 + 0.3 = 6.6333 s; ×10 epochs + 3 s, × 4 models
    assert stages["training 4 models"] == pytest.approx(4 * (10 * (6.0 + 1 / 3 + 0.3) + 3.0))
    assert stages["IWAE bound (k = 1,000, 10,000 images) × 4"] == pytest.approx(40.0)  # 4e7 pairs at 1e6/s
    assert stages["Fréchet distance × 4"] == pytest.approx(4 * 3 * 10_000 / 3_000)
    assert stages["figures and report"] == estimate.REPORT_S
    assert not any(name.startswith("MIG") for name in stages)


def test_a_cached_classifier_and_factors():
    work = StudyWork(trials=2, epochs=1, train_images=10_000, validation_images=1_000, test_images=1_000, k=10,
                     classifier_images=0, factors=True)
    stages = dict(estimate_study(work, SPEED))
    assert "evaluation classifier" not in stages
    assert stages["MIG, DCI and FactorVAE × 2"] == 2 * estimate.DISENTANGLEMENT_S


def test_one_model_is_one_model():
    work = StudyWork(trials=1, epochs=1, train_images=100, validation_images=10, test_images=10, k=1,
                     classifier_images=0)
    assert "training 1 model" in dict(estimate_study(work, SPEED))


def test_estimate_text():
    stages = [("evaluation classifier", 59.2), ("training 4 models", 125.0), ("figures and report", 3700.0)]
    text = estimate_text(stages, SPEED)
    assert text.startswith("estimated time about 1 h 04 min (measured on this machine): ")
    assert text.endswith("evaluation classifier: 1 min 00 s; training 4 models: 2 min 05 s; "
                         "figures and report: 1 h 01 min")
    assert "not yet measured here" in estimate_text(stages, estimate.NOMINAL)


def test_throughput_cache_round_trip(tmp_path):
    path = tmp_path / "machine.json"
    key = estimate.probe_key(100, "mlp", 10, (28, 28, 1), "auto")
    assert key == "mlp-bs100-z10-28x28x1-auto"
    assert estimate.cached_throughput(key, path) is None
    estimate.save_throughput(key, SPEED, path)
    estimate.save_throughput("other", estimate.NOMINAL, path)
    assert estimate.cached_throughput(key, path) == SPEED
    assert estimate.cached_throughput("other", path) == estimate.NOMINAL
    path.write_text("{not json")
    assert estimate.cached_throughput(key, path) is None


@pytest.mark.parametrize("dataset, given, measured", [
    ("shapes", "auto", 10_000), ("dsprites", "auto", 10_000), ("mnist", "auto", None),
    ("shapes", "all", None), ("shapes", 500, 500),
])
def test_test_images_by_default(dataset, given, measured):
    config = StudyConfig(training=TrainConfig(dataset=dataset), test_images=given).validate()
    assert config.test_images == measured


def test_the_probe_shows_its_progress_the_first_time_only(tmp_path, monkeypatch):
    # Some 20 s of silence before the estimate looked like a hang.
    from keras_models.events import JobState, StageProgress
    from keras_models.files import CACHE_ENV
    from keras_models.study.probe import PROBE_STAGE, machine_throughput

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    events = []
    config = TrainConfig(batch_size=10, latent_dim=2, epochs=1)
    first = machine_throughput(config, (28, 28, 1), JobState(on_event=events.append))
    progress = [e for e in events if isinstance(e, StageProgress)]
    assert progress and all(e.stage == PROBE_STAGE for e in progress)
    assert (progress[-1].done, progress[-1].total) == (3, 3)
    events.clear()
    assert machine_throughput(config, (28, 28, 1), JobState(on_event=events.append)) == first
    assert not events  # cached: nothing measured, nothing to show
