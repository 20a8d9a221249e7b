"""The window, driven as a user would: click Train, watch it update, explore, save, reopen."""
import json
import re

import numpy as np
from PIL import Image

from keras_models.events import BatchProgress, Stopped, StudyRow
from tests.helpers import (collect_events, fake_driver_command, is_event, pretrain_classifier, set_quick_settings,
                           train_and_wait, wait_for_job)

TIMEOUT = 120_000


def test_window_opens_with_every_panel(window):
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "Training", "Latent traversal", "Latent map", "Interpolation", "CVAE classes", "β study", "Compare runs"]
    for panel in (window.loss_plot, window.kl_bars, window.reconstructions, window.samples):
        assert panel.isVisible()  # laid out in the Training tab, the one shown first
    # Before any model there is nothing to save but the loss plot's empty axes.
    assert window.loss_plot.save_button.isEnabled()
    for panel in (window.kl_bars, window.reconstructions, window.samples, window.traversal, window.class_grid,
                  window.class_style):
        assert not panel.save_button.isEnabled() and not panel.has_content()
    assert window.controls.train_button.isEnabled()
    assert not window.controls.stop_button.isEnabled()


def test_vanilla_vae_fixes_beta_and_cvae_selector_needs_a_cvae(window):
    controls = window.controls
    controls.model.setCurrentIndex(controls.model.findData("bvae"))
    controls.beta.setValue(4.0)
    controls.model.setCurrentIndex(controls.model.findData("vae"))
    assert controls.beta.value() == 1.0
    assert not controls.beta.isEnabled()
    assert "β = 1" in controls.beta.toolTip()
    assert not window.class_controls.isEnabled()
    assert "CVAE" in window.class_controls.toolTip()


def test_one_epoch_training_updates_plots_grids_and_traversal_saves_pngs_and_shows_the_data_notice(
        qtbot, window, tmp_path, tiny_data):
    # One training for three checks: the views it updates, saving them, and the data set's notice.
    tiny_data.notice = "cannot download mnist: no network; using the offline mnist-5k set instead"
    set_quick_settings(window, epochs=1, batch_size=30)
    progress = collect_events(window, BatchProgress)
    with qtbot.waitSignal(window.worker.signals.views, timeout=TIMEOUT):
        result = train_and_wait(qtbot, window)
    assert not result.stopped and len(result.history) == 1
    assert progress and progress[-1].batch == progress[-1].steps == 10
    assert len(window.loss_plot.history) == 1
    xs, ys = window.loss_plot.lines["val_nelbo"].get_data()
    assert list(xs) == [1.0] and np.isfinite(ys[0])
    batch_x, _ = window.loss_plot.lines["batch_rec"].get_data()
    assert len(batch_x) == len(progress)
    qtbot.waitUntil(lambda: window.kl_bars.values is not None, timeout=TIMEOUT)  # drawn just after the epoch
    assert window.reconstructions.grid is not None and window.samples.grid is not None
    assert window.traversal.grid is not None
    assert [bar.get_height() for bar in window.kl_bars.canvas.bars] == list(window.kl_bars.values)  # one per dim
    assert len(window.kl_bars.values) == 4
    assert window.controls.train_button.isEnabled()
    assert (window.run_dir / "model.keras").exists()
    assert window.notice.isVisibleTo(window)
    assert "offline" in window.notice.text()

    path = window.reconstructions.save_to(tmp_path / "recon.png")
    height, width = window.reconstructions.grid.shape
    assert Image.open(path).size == (2 * width, 2 * height)
    written = window.save_all(tmp_path / "figures")
    names = sorted(p.name for p in written)
    assert {"losses.png", "reconstructions.png", "samples.png", "traversal.png"} <= set(names)
    for p in written:
        assert Image.open(p).size[0] > 100


def test_traversal_changes_with_the_dimension_sorts_by_kl_and_exports_a_gif(qtbot, window, tmp_path):
    set_quick_settings(window, epochs=2, batch_size=30)
    with qtbot.waitSignal(window.worker.signals.views, timeout=TIMEOUT):
        train_and_wait(qtbot, window)
    dims = window.traversal_controls.dim
    with qtbot.waitSignal(window.worker.signals.views, timeout=TIMEOUT):
        dims.setCurrentIndex(dims.findData(0))
    qtbot.waitUntil(lambda: "z0 from" in window.traversal.caption.text(), timeout=TIMEOUT)
    first = window.traversal.grid.copy()
    with qtbot.waitSignal(window.worker.signals.views, timeout=TIMEOUT):
        dims.setCurrentIndex(dims.findData(1))
    qtbot.waitUntil(lambda: "z1 from" in window.traversal.caption.text(), timeout=TIMEOUT)
    assert window.traversal.grid.shape == first.shape
    assert not np.allclose(window.traversal.grid, first)
    dims.setCurrentIndex(0)  # "All dimensions": one row each
    qtbot.waitUntil(lambda: window.traversal.grid.shape[0] == 4 * 30 + 2, timeout=TIMEOUT)

    controls = window.traversal_controls
    controls.sort_by_kl.setChecked(True)
    qtbot.waitUntil(lambda: "sorted by KL" in window.traversal.caption.text(), timeout=TIMEOUT)
    labelled = window.traversal.grid
    assert labelled.shape[0] == 4 * 30 + 2 and labelled.shape[1] > 11 * 30 + 2  # a label margin on the left
    path = tmp_path / "walk.gif"
    wait_for_job(qtbot, window, lambda: window.export_gif(str(path)))
    with Image.open(path) as gif:
        assert gif.n_frames == 2 * controls.steps.value() - 2  # forward and back


def test_screenshot_after_a_short_training_and_the_cvae_selector_draws_the_chosen_classes(qtbot, window,
                                                                                         tmp_path):
    set_quick_settings(window, model="cvae", epochs=2, batch_size=30)
    with qtbot.waitSignal(window.worker.signals.views, timeout=TIMEOUT):
        train_and_wait(qtbot, window)
    path = tmp_path / "window.png"
    assert window.grab().save(str(path))
    image = Image.open(path)
    assert image.size[0] >= 800 and image.size[1] >= 500
    pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 10  # a real picture, not a blank window

    assert window.class_controls.isEnabled()
    for digit, button in enumerate(window.class_controls.toggles):
        button.blockSignals(True)
        button.setChecked(digit in (0, 2))
        button.blockSignals(False)
    window.class_controls.per_class.blockSignals(True)
    window.class_controls.per_class.setValue(5)
    window.class_controls.per_class.blockSignals(False)
    with qtbot.waitSignal(window.worker.signals.views, timeout=TIMEOUT):
        window.request_views()
    assert window.class_grid.grid.shape == (2 * 30 + 2, 5 * 30 + 2)
    assert window.class_style.grid.shape[1] == 10 * 30 + 2


def test_stop_ends_training_early_and_keeps_the_model(qtbot, window):
    set_quick_settings(window, epochs=200, batch_size=10)
    with qtbot.waitSignal(window.worker.signals.event, check_params_cb=is_event(BatchProgress), timeout=TIMEOUT):
        window.controls.train_button.click()
    assert not window.controls.train_button.isEnabled()  # no second training while one runs
    _, result = wait_for_job(qtbot, window, window.controls.stop_button.click)
    assert result.stopped
    assert len(result.history) < 200
    assert (window.run_dir / "model.keras").exists()
    assert window.controls.train_button.isEnabled()


def test_closing_during_training_stops_the_worker(qtbot, window):
    set_quick_settings(window, epochs=200, batch_size=10)
    with qtbot.waitSignal(window.worker.signals.event, check_params_cb=is_event(BatchProgress), timeout=TIMEOUT):
        window.controls.train_button.click()
    window.close()
    assert not window.thread.isRunning()


def test_saving_into_an_unwritable_place_shows_an_error(window, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert window.save_all(blocker / "figures") == []
    assert window.errors and "cannot save pictures" in window.errors[-1]


def test_reopened_run_restores_history_and_continues(qtbot, window, tmp_path, tiny_data):
    from gui.window import MainWindow

    set_quick_settings(window, epochs=2, batch_size=30)
    train_and_wait(qtbot, window)
    run_dir = window.run_dir
    window.close()

    reopened = MainWindow(load_data=lambda config: tiny_data)
    qtbot.addWidget(reopened)
    reopened.show()
    with qtbot.waitSignal(reopened.worker.signals.ready, timeout=TIMEOUT):
        reopened.start_worker()
    wait_for_job(qtbot, reopened, lambda: reopened.open_run(str(run_dir)))
    assert [r["epoch"] for r in reopened.loss_plot.history] == [1.0, 2.0]
    assert reopened.controls.latent_dim.value() == 4
    assert reopened.controls.continue_run.isEnabled()
    reopened.controls.continue_run.setChecked(True)
    reopened.controls.epochs.setValue(1)
    result = train_and_wait(qtbot, reopened)
    assert len(result.history) == 3
    assert [r["epoch"] for r in reopened.loss_plot.history] == [1.0, 2.0, 3.0]
    reopened.close()


def test_bad_run_folder_failing_and_diverging_training_keep_the_window_usable(qtbot, window, tmp_path, tiny_data,
                                                                              monkeypatch):
    from keras_models import training

    _, message = wait_for_job(qtbot, window, lambda: window.open_run(str(tmp_path)))
    assert "not a run folder" in message and window.errors[-1] == message

    calls = []

    def flaky_loader(config):
        calls.append(config)
        if len(calls) == 1:
            raise RuntimeError("disk on fire")
        return tiny_data

    window.worker._load_data_override = flaky_loader
    set_quick_settings(window, epochs=1, batch_size=30)
    wait_for_job(qtbot, window, window.controls.train_button.click)
    assert "disk on fire" in window.errors[-1]
    assert window.controls.train_button.isEnabled()
    result = train_and_wait(qtbot, window)
    assert len(result.history) == 1

    # A NaN before the first checkpoint leaves no model to explore.
    assert window.evaluate_button.isEnabled()  # a model to explore, until the next training diverges
    build_model = training.build_model

    def poisoned_model(*args, **kwargs):
        model = build_model(*args, **kwargs)
        bias = model.encoder.layers[-1].bias
        bias.assign(np.full(bias.shape, np.inf, dtype="float32"))
        return model

    monkeypatch.setattr(training, "build_model", poisoned_model)
    wait_for_job(qtbot, window, window.controls.train_button.click)
    assert re.search(r"NaN at epoch 1, batch(es 1-\d+| 1); no checkpoint", window.errors[-1])
    assert window.worker.model is None
    assert not window.evaluate_button.isEnabled() and not window.save_model_action.isEnabled()
    assert window.controls.train_button.isEnabled()


def test_study_tab_runs_a_study_and_shows_its_table_and_figures(qtbot, window, tmp_path, tiny_data):
    pretrain_classifier(tiny_data)
    set_quick_settings(window, epochs=1, batch_size=30)
    window.controls.latent_dim.setValue(3)
    window.reports_folder = tmp_path / "reports"
    study = window.study
    assert study.engine.currentData() == "local" and not study.address.isEnabled()
    study.betas.setText("0.5 2")
    study.seeds.setText("0 1")
    study.include_cvae.setChecked(False)
    study.epochs.setValue(1)
    study.k.setValue(3)
    rows = collect_events(window, StudyRow)

    def run_study():
        study.run_button.click()
        assert not window.controls.train_button.isEnabled()

    wait_for_job(qtbot, window, run_study, timeout=300_000)
    assert [(event.row["beta"], event.row["seed"]) for event in rows] == [(0.5, 0), (2.0, 0), (0.5, 1), (2.0, 1)]
    # One row per β, each number the mean ± sd over the two seeds.
    assert study.table.rowCount() == 2
    headers = [study.table.horizontalHeaderItem(c).text() for c in range(study.table.columnCount())]
    assert headers[:3] == ["model", "β", "n"]
    assert "IWAE NLL" in headers and "MIG" not in headers and "CVAE class accuracy" not in headers
    assert [study.table.item(1, c).text() for c in range(3)] == ["β-VAE (β = 2)", "2", "2"]
    assert " ± " in study.table.item(1, headers.index("IWAE NLL")).text()
    assert study.figure_list.count() >= 5
    assert study.open_button.isEnabled()
    assert (study.report_dir / "report.html").exists()
    assert "β = 0.5" in study.conclusions.text() and "Welch" in study.conclusions.text()
    assert window.controls.train_button.isEnabled()
    # One model: the last one the study finished is the open model, with its own settings and folder.
    last_run = study.report_dir / rows[-1].row["run_dir"]
    assert window.worker.run_dir == last_run and window.run_dir == last_run
    assert window.worker.config.beta == 2.0 and window.model_info.config["beta"] == 2.0
    assert window.evaluate_button.isEnabled()


def test_a_ray_study_runs_in_a_driver_process_the_tab_follows_and_stops(qtbot, window, tmp_path, monkeypatch):
    from keras_models.study import process

    commands, real_command = [], process.study_command

    def fake_command(report_dir, engine, address=None, cpus_per_trial=None):
        commands.append(real_command(report_dir, engine, address, cpus_per_trial))
        return fake_driver_command(report_dir, "wait")

    monkeypatch.setattr(process, "study_command", fake_command)
    window.reports_folder = tmp_path / "reports"
    study = window.study
    study.engine.setCurrentIndex(study.engine.findData("ray"))
    assert study.address.isEnabled()
    study.address.setText("auto")
    study.betas.setText("1 4")
    study.include_cvae.setChecked(False)

    def run_then_stop():
        study.run_button.click()
        qtbot.waitUntil(lambda: "NaN" in study.failures.text(), timeout=30_000)
        window.controls.stop_button.click()

    _, result = wait_for_job(qtbot, window, run_then_stop, timeout=60_000)
    (report,) = (tmp_path / "reports").iterdir()
    assert commands[0][2:] == ["study", "--resume", str(report.resolve()), "--engine", "ray", "--address", "auto"]
    assert result.stopped and result.report_dir == report
    assert study.failures.text() == "β-VAE (β = 4), seed 0: failed (loss became NaN at epoch 1, batch 2)"
    assert [study.table.item(r, 2).text() for r in range(study.table.rowCount())] == ["1", "0 (1 did not finish)"]
    assert study.progress.format().startswith("study stopped") and study.conclusions.text() == "• one line"
    assert window.controls.train_button.isEnabled() and window.model_info is None  # no finished trial to open


def test_a_bad_seed_list_or_ray_address_is_refused_with_a_message(window):
    window.study.seeds.setText("")
    window.study.run_button.click()
    assert "at least one seed" in window.errors[-1]
    window.study.seeds.setText("0 1")
    window.study.engine.setCurrentIndex(window.study.engine.findData("ray"))
    window.study.address.setText("nowhere")
    window.study.run_button.click()
    assert window.errors[-1] == "the Ray address must be auto, ray://HOST:PORT or HOST:PORT, got 'nowhere'"
    assert window.controls.train_button.isEnabled()


def test_stop_ends_an_evaluation_and_a_full_one_reports_numbers_and_writes_them_to_the_run(qtbot, window):
    set_quick_settings(window, epochs=1, batch_size=30)
    train_and_wait(qtbot, window)
    window.study.k.setValue(5000)

    def evaluate_then_stop():
        window.evaluate_button.click()
        assert window.controls.stop_button.isEnabled()
        window.controls.stop_button.click()

    _, result = wait_for_job(qtbot, window, evaluate_then_stop)
    assert isinstance(result, Stopped)
    assert "stopped" in window.statusBar().currentMessage()
    assert window.progress.format() == "finished after epoch 1"  # the training's outcome, untouched
    assert window.evaluate_button.isEnabled() and window.controls.train_button.isEnabled()
    assert not (window.run_dir / "evaluation.json").exists()

    # The same model measured to the end, once a stopped measurement has left the window usable.
    window.study.k.setValue(5)
    _, numbers = wait_for_job(qtbot, window, window.evaluate_button.click, timeout=300_000)
    assert numbers["iwae_nll"] <= numbers["nelbo"] + 1.0
    assert "IWAE NLL" in window.evaluation_label.text() and "k = 5" in window.evaluation_label.text()
    saved = json.loads((window.run_dir / "evaluation.json").read_text())
    assert saved["iwae_nll"] == numbers["iwae_nll"] and saved["protocol"]["k"] == 5


def test_a_bad_beta_list_is_refused_with_a_message(window):
    window.study.betas.setText("")
    window.study.run_button.click()
    assert "at least one" in window.errors[-1]
    assert window.controls.train_button.isEnabled()


def test_posterior_collapse_is_flagged(window):
    window.kl_bars.set_values(np.full(4, 0.001), 0)
    assert "posterior collapse" in window.kl_bars.summary.text()
    window.kl_bars.set_values(np.array([0.5, 0.001, 0.2, 0.0]), 2)
    assert window.kl_bars.summary.text() == "2 of 4 active units"
