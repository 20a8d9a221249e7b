"""The study tab's record of trials that ended without a row."""
from gui.study_panel import StudyPanel
from keras_models.events import TrialFailed


def test_a_failed_scheduled_trial_keeps_its_model_and_schedule_and_is_listed(qtbot):
    panel = StudyPanel()
    qtbot.addWidget(panel)
    panel.add_failure(TrialFailed("warmup5_b4_s0", "warmup5_b4", 4.0, "β-VAE with KL warm-up over 5 epochs (β = 4)",
                                  0, "failed", "out of memory", "bvae", "warmup"))
    (ended,) = panel.ended
    assert ended["model"] == "bvae" and ended["schedule"] == "warmup"  # not read off the group key
    assert panel.failures.text() == "β-VAE with KL warm-up over 5 epochs (β = 4), seed 0: failed (out of memory)"
