"""How TensorFlow's threads are shared out between the slices of a batch."""
import os

import pytest

from keras_models import threads


@pytest.mark.parametrize("cores, inter_op, slices, intra_op", [
    (1, 0, 1, 1),
    (2, 0, 2, 1),   # the 2-core laptop: two slices side by side, one thread each
    (3, 0, 3, 1),
    (8, 0, 4, 2),   # at most four slices; the other cores go to each operation
    (16, 0, 4, 4),
    (16, 2, 2, 8),  # inter-op threads capped at 2: two slices of 8 threads
    (4, 1, 1, 4),   # one operation at a time: no slices, every core for it
])
def test_cores_are_shared_out_between_the_slices(cores, inter_op, slices, intra_op):
    assert threads.slice_count(cores, inter_op) == slices
    assert threads.intra_op_threads(cores, inter_op) == intra_op


def test_the_environment_gets_the_intra_op_threads_unless_it_has_them(monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 8)
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    monkeypatch.setenv("TF_NUM_INTEROP_THREADS", "2")
    threads.share_cores_between_slices()
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "4"

    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "3")  # set by whoever started us, as Ray does
    threads.share_cores_between_slices()
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "3"


@pytest.mark.parametrize("value", ["auto", "-2", "", "1.5"])
def test_a_thread_count_that_is_not_a_whole_number_counts_as_unset(monkeypatch, value):
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setenv("TF_NUM_INTEROP_THREADS", value)
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", value)
    assert threads.thread_count_from_environment("TF_NUM_INTEROP_THREADS") == 0
    threads.share_cores_between_slices()  # no traceback at start-up for a stray value
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "1"
