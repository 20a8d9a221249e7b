"""Training model after model in the window: a replaced model leaves nothing traced behind."""
import gc
import weakref

from tests.helpers import set_quick_settings, step_graphs

TIMEOUT = 120_000


def test_a_replaced_model_takes_its_train_step_graphs_with_it(qtbot, window):
    set_quick_settings(window, epochs=1, batch_size=50)
    ended = []  # only the jobs: keeping the results would keep their models
    window.worker.signals.job_done.connect(lambda job, result: ended.append(job))
    window.worker.signals.job_failed.connect(lambda job, message: ended.append(message))

    known = {id(g) for g in step_graphs()}
    window.controls.train_button.click()
    qtbot.waitUntil(lambda: len(ended) == 1, timeout=TIMEOUT)
    first_model = weakref.ref(window.worker.model)
    first_graphs = [weakref.ref(g) for g in step_graphs() if id(g) not in known]
    assert first_graphs, "fit traced no train step"

    window.controls.train_button.click()  # the second model replaces the first as the open one
    qtbot.waitUntil(lambda: len(ended) == 2, timeout=TIMEOUT)
    assert all(not isinstance(end, str) for end in ended), ended
    gc.collect()
    assert first_model() is None
    assert [ref().name for ref in first_graphs if ref() is not None] == []
