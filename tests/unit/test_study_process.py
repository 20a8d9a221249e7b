"""Following a study that runs in another process (the window's Ray studies): its progress log
becomes events, Stop reaches the driver as SIGINT, and a driver that dies is reported."""
import threading

import pytest

from keras_models.events import JobState, StageStarted, StudyRow, TrialFailed
from keras_models.study import StudyConfig
from keras_models.study.ledger import StudyState
from keras_models.study.process import follow_study, study_command
from tests.helpers import fake_driver_command

@pytest.fixture
def planned(tmp_path):
    config = StudyConfig(betas=(1.0, 4.0), include_cvae=False).validate()
    StudyState.start(config, tmp_path).write("not loaded yet", "pending", "planned")
    return tmp_path


def _run(folder, mode, state):
    return follow_study(fake_driver_command(folder, mode), folder, state, poll_s=0.02)


def test_the_drivers_events_reach_the_state_and_its_end_is_returned(planned):
    events = []
    ended = _run(planned, "run", JobState(on_event=events.append))
    assert [type(e) for e in events] == [StageStarted, StudyRow, TrialFailed]
    assert events[1].row["key"] == "vae_s0" and events[2].reason == "loss became NaN at epoch 1, batch 2"
    assert ended["stopped"] is False and ended["conclusions"] == ["one line"] and ended["returncode"] == 0
    assert [t["key"] for t in ended["trials"]] == ["vae_s0", "bvae_b4_s0"]
    assert "a line for driver.log" in (planned / "driver.log").read_text()


def test_stop_sends_the_driver_sigint_and_it_writes_a_stopped_end(planned):
    events = []
    state = JobState(on_event=events.append)
    timer = threading.Timer(0.5, state.request_stop)
    timer.start()
    ended = _run(planned, "wait", state)
    timer.join()
    assert ended["stopped"] is True and len(events) == 3


def test_a_driver_that_dies_without_finishing_is_an_error_naming_its_last_line(planned):
    with pytest.raises(RuntimeError, match="the study driver ended .status 0. without finishing: a line for driver.log"):
        _run(planned, "die", JobState())


def test_the_command_resumes_the_planned_folder_on_the_chosen_engine(tmp_path):
    command = study_command(tmp_path, "ray", "auto", 2)
    assert command[1].endswith("main.py") and command[2:] == [
        "study", "--resume", str(tmp_path.resolve()), "--engine", "ray", "--address", "auto", "--cpus-per-trial", "2"]
