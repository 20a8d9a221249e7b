"""Batch size and epochs on the command line: not given, they are left to the sizing rule
(None until the data loads); given, they keep their meaning. Parsing and settings only."""
import pytest

from keras_models.study import cli as study_cli
from main import build_parser
from tests.helpers import assert_bad_input, run_main


def test_train_leaves_what_is_not_given_to_the_rule():
    args = build_parser().parse_args(["train"])
    assert args.epochs is None and args.batch_size is None
    args = build_parser().parse_args(["train", "-e", "5", "-bs", "200"])
    assert (args.epochs, args.batch_size) == (5, 200)


@pytest.mark.parametrize("flags, epochs, batch", [([], None, None), (["-e", "3"], 3, None),
                                                  (["-bs", "50"], None, 50), (["-e", "3", "-bs", "50"], 3, 50)])
def test_study_settings(tmp_path, flags, epochs, batch):
    args = build_parser().parse_args(["study", "--out", str(tmp_path), *flags])
    config = study_cli.study_config(args)
    assert (config.training.epochs, config.training.batch_size) == (epochs, batch)
    assert config.test_images is None  # MNIST: every test image


@pytest.mark.parametrize("flags, measured", [([], 10_000), (["--test-images", "all"], None),
                                             (["--test-images", "2000"], 2000)])
def test_study_test_images_on_shapes(tmp_path, flags, measured):
    args = build_parser().parse_args(["study", "--dataset", "shapes", "--out", str(tmp_path), *flags])
    assert study_cli.study_config(args).test_images == measured


def test_study_test_images_that_are_neither_a_number_nor_all(tmp_path):
    status, stdout, stderr = run_main(["study", "--out", tmp_path, "--test-images", "many"])
    assert_bad_input(status, stdout, stderr, "--test-images", "must be a whole number or all, got 'many'")


def test_a_schedule_longer_than_the_auto_epochs_is_refused_before_tensorflow_loads(tmp_path):
    # It was refused only after TensorFlow loaded, naming a limit of epochs the user never gave.
    import subprocess
    import sys
    from pathlib import Path

    from tests.helpers import write_digits_idx

    write_digits_idx(tmp_path / "idx")  # 200 training images: auto trains 100 epochs
    code = ("import sys, main\n"
            "status = main.main(sys.argv[1:])\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
            "sys.exit(status)\n")
    result = subprocess.run([sys.executable, "-c", code, "train", "--dataset", f"idx:{tmp_path / 'idx'}",
                             "--kl-warmup", "150", "--out", str(tmp_path / "runs")],
                            cwd=Path(__file__).parents[2], capture_output=True, text=True)
    assert_bad_input(result.returncode, result.stdout, result.stderr, "KL warm-up epochs must be at most 100, got 150",
                     "auto sized the epochs to 100 for 200 training images")
    assert not (tmp_path / "runs").exists()


def test_a_study_trial_whose_schedule_outlasts_the_auto_epochs_is_refused_up_front(tmp_path):
    # The study ran the classifier and every other trial first, then failed that trial.
    import subprocess
    import sys
    from pathlib import Path

    from tests.helpers import write_digits_idx

    write_digits_idx(tmp_path / "idx")
    code = ("import sys, main\n"
            "status = main.main(sys.argv[1:])\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
            "sys.exit(status)\n")
    result = subprocess.run([sys.executable, "-c", code, "study", "--dataset", f"idx:{tmp_path / 'idx'}",
                             "--betas", "1", "--no-cvae", "--kl-warmup", "150", "--out", str(tmp_path / "reports")],
                            cwd=Path(__file__).parents[2], capture_output=True, text=True)
    assert_bad_input(result.returncode, result.stdout, result.stderr, "KL warm-up epochs must be at most 100, got 150",
                     "auto sized the epochs to 100")
    assert not (tmp_path / "reports").exists()


def test_the_study_itself_refuses_it_before_its_folder(tmp_path):
    # The window's studies and tensorflow-datasets sets skip the command line's early check.
    from keras_models.config import ConfigError, TrainConfig
    from keras_models.data import DataSplit
    from keras_models.study import StudyConfig, run_study
    from tests.helpers import make_digits

    train_x, train_y = make_digits(200, seed=1)
    val_x, val_y = make_digits(60, seed=2)
    config = StudyConfig(training=TrainConfig(epochs=None, batch_size=None), betas=(1.0,), include_cvae=False,
                         k=2, kl_warmup=150, out=str(tmp_path / "reports"))
    with pytest.raises(ConfigError, match="auto sized the epochs to 100"):
        run_study(config, data=DataSplit("tiny", train_x, train_y, val_x, val_y))
    assert not (tmp_path / "reports").exists()
