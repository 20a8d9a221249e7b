"""`main.py train` and `main.py grids` on good input."""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from tests.helpers import run_main

REPO = Path(__file__).resolve().parents[2]


def metrics_rows(run_dir):
    with (run_dir / "metrics.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def png_pixels(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image)


def test_train_in_process_writes_a_run(cli_run, digits_idx_dir):
    run_dir, stdout, stderr = cli_run
    assert run_dir.name.endswith("_bvae_b1.5")
    assert f"training bvae_b1.5 on idx:{digits_idx_dir}: 200 training and 60 validation images -> {run_dir}" in stdout
    assert re.search(r"\nepoch 1: .*\bloss \d+\.\d\d .*\bval_nelbo \d+\.\d\d", stdout)
    assert stdout.rstrip().endswith(f"run saved in {run_dir}")
    config = json.loads((run_dir / "config.json").read_text())["config"]
    assert (config["model"], config["beta"], config["epochs"], config["latent_dim"]) == ("bvae", 1.5, 1, 4)
    assert config["dataset"] == f"idx:{digits_idx_dir}"
    assert [row["epoch"] for row in metrics_rows(run_dir)] == ["1"]
    assert json.loads((run_dir / "checkpoint.json").read_text()) == {"epoch": 1}
    assert (run_dir / "model.keras").stat().st_size > 0
    assert sorted(p.name for p in (run_dir / "grids").iterdir()) == [
        "interpolation.png", "latent_map.png", "reconstructions.png", "samples.png", "traversal_all_dims.gif",
        "traversal_all_dims.png", "traversal_dim3.png"]


def test_grids_command_writes_the_pngs(cli_run, tmp_path):
    from keras_models import grids
    from keras_models.images import PNG_SCALE, to_uint8
    from keras_models.training import load_model_file

    run_dir = cli_run[0]
    status, stdout, stderr = run_main(["grids", run_dir, "--traverse-dim", "3", "--out", tmp_path / "pngs"])
    assert status == 0, stderr
    names = ["reconstructions.png", "samples.png", "traversal_dim3.png", "traversal_all_dims.png",
             "traversal_all_dims.gif", "latent_map.png", "interpolation.png"]
    assert stdout.splitlines() == [str(tmp_path / "pngs" / name) for name in names]
    assert sorted(p.name for p in (tmp_path / "pngs").iterdir()) == sorted(names)

    # The traversal PNG is exactly the grid the saved model decodes (8 prior codes x 11 steps, seed 0).
    model = load_model_file(run_dir / "model.keras")
    expected = grids.traversal_grid(model, grids.prior_codes(8, 4, 0), 3, grids.traversal_values())
    np.testing.assert_array_equal(png_pixels(tmp_path / "pngs" / "traversal_dim3.png"),
                                  to_uint8(expected, PNG_SCALE))
    # It also matches the one training wrote, because the model on disk is the one that drew it.
    np.testing.assert_array_equal(png_pixels(tmp_path / "pngs" / "traversal_dim3.png"),
                                  png_pixels(run_dir / "grids" / "traversal_dim3.png"))

    status, _, stderr = run_main(["grids", run_dir, "--traverse-dim", "0", "--out", tmp_path / "dim0"])
    assert status == 0, stderr
    dim0 = png_pixels(tmp_path / "dim0" / "traversal_dim0.png")
    assert dim0.shape == png_pixels(tmp_path / "pngs" / "traversal_dim3.png").shape
    assert not np.array_equal(dim0, png_pixels(tmp_path / "pngs" / "traversal_dim3.png"))


def test_grids_default_dimension_fits_a_small_model(cli_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(cli_run[0], run_dir)
    shutil.rmtree(run_dir / "grids")
    status, stdout, stderr = run_main(["grids", run_dir])  # latent_dim 4: dimension 6 does not exist
    assert status == 0, stderr
    assert (run_dir / "grids" / "traversal_dim3.png").is_file()
    assert len(stdout.splitlines()) == 7  # six PNGs and the GIF


def test_resume_through_the_cli(cli_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(cli_run[0], run_dir)
    first_row = metrics_rows(run_dir)[0]
    elsewhere = tmp_path / "elsewhere"
    status, stdout, stderr = run_main(["train", "--resume", run_dir, "-e", "1", "-m", "cvae", "--out", elsewhere])
    assert status == 0, stderr
    assert stderr.strip() == "note: --resume uses the run's saved settings; ignoring --model, --out"
    assert not elsewhere.exists()
    rows = metrics_rows(run_dir)
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert rows[0] == first_row
    assert json.loads((run_dir / "checkpoint.json").read_text()) == {"epoch": 2}
    assert f"run saved in {run_dir}" in stdout

    from keras_models.training import load_model_file

    model = load_model_file(run_dir / "model.keras")
    assert not model.conditional and model.beta == 1.5
    assert int(model.optimizer.iterations) == 2 * 4  # 200 images in batches of 50, two epochs


def test_train_subprocess_smoke(tmp_path):
    """The real entry point, as a user types it, on the offline set."""
    out = tmp_path / "runs"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "main.py", "train", "--dataset", "mnist-5k", "-e", "1", "--latent-dim", "4",
         "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr == ""  # TensorFlow's start-up lines (oneDNN, CUDA) are kept out of the terminal
    (run_dir,) = out.iterdir()
    assert "training bvae_b1 on mnist-5k: 4,500 training and 500 validation images" in proc.stdout
    assert f"run saved in {run_dir}" in proc.stdout
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["config"]["dataset"] == "mnist-5k" and saved["data"]["train"] == 4500
    rows = metrics_rows(run_dir)
    assert len(rows) == 1 and rows[0]["epoch"] == "1"
    assert 0 < float(rows[0]["val_nelbo"]) < 543  # better than a coin flip per pixel
    assert (run_dir / "model.keras").stat().st_size > 100_000
    pngs = sorted((run_dir / "grids").glob("*.png"))
    assert [p.name for p in pngs] == ["interpolation.png", "latent_map.png", "reconstructions.png", "samples.png",
                                      "traversal_all_dims.png", "traversal_dim3.png"]
    for png in pngs:  # grids are greyscale; the latent map is a figure, in colour
        assert png_pixels(png).ndim == (3 if png.name == "latent_map.png" else 2)


def test_grids_of_a_latent_size_1_model_say_why_there_is_no_map(digits_idx_dir, tmp_path):
    status, _, stderr = run_main(["train", "-m", "vae", "-e", "1", "-bs", "50", "--latent-dim", "1", "--precision",
                                  "float32", "--dataset", f"idx:{digits_idx_dir}", "--out", tmp_path / "runs"])
    assert status == 0, stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    status, stdout, stderr = run_main(["grids", run_dir, "--out", tmp_path / "pngs"])
    assert status == 0, stderr
    assert "interpolation.png" in stdout and "latent_map.png" not in stdout
    assert "no latent_map.png: a latent map needs a latent size of at least 2" in stderr


def test_a_schedule_asked_for_on_resume_is_named_with_the_one_the_run_keeps(cli_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(cli_run[0], run_dir)
    status, _, stderr = run_main(["train", "--resume", run_dir, "-e", "1", "--kl-warmup", "1"])
    assert status == 0, stderr
    assert stderr.strip() == ("note: --resume uses the run's saved settings; ignoring --kl-warmup "
                              "(the run keeps its own KL schedule: none)")
