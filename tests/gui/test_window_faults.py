"""The window under faults: a full disk while training, a run left with a killed save's temporary."""
import json
import os
import time

from tests.helpers import full_disk, set_quick_settings, wait_for_job


def test_a_full_disk_is_one_line_and_reopening_clears_a_killed_saves_temporary(qtbot, window, tmp_path,
                                                                                 monkeypatch):
    full_disk(monkeypatch, ".model-", after=1)  # the checkpoint of epoch 2 finds no room
    set_quick_settings(window, epochs=2, batch_size=30)
    _, message = wait_for_job(qtbot, window, window.controls.train_button.click)
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert message.startswith(f"no space left on device writing {run_dir / 'model.keras'}: a checkpoint needs "
                              f"about ") and "\n" not in message
    assert message.endswith(f"free (the size of the last model.keras); kept the checkpoint from epoch 1 in {run_dir}")
    assert window.errors[-1] == message
    assert window.controls.train_button.isEnabled()
    assert json.loads((run_dir / "checkpoint.json").read_text()) == {"epoch": 1}

    left_over = run_dir / ".model-k1lled00.keras"  # what a save killed half-way leaves
    left_over.write_bytes(b"PK\x03\x04 half a model")
    an_hour_ago = time.time() - 3600
    os.utime(left_over, (an_hour_ago, an_hour_ago))
    wait_for_job(qtbot, window, lambda: window.open_run(str(run_dir)))
    assert not left_over.exists()
    assert [r["epoch"] for r in window.loss_plot.history] == [1.0]
