"""Training many models in one process: what a finished training leaves behind.

Memory itself is measured by bench/memory_cycles.py; these tests check the cause
it found, that the graphs TensorFlow traces for a model go when the model does.
"""
import gc
import weakref

import tensorflow as tf

from keras_models import memory
from keras_models.training import TrainingSession
from tests.helpers import small_config, step_graphs


def test_gradients_released_drops_what_traces_inside_registered_and_the_function_still_runs():
    @tf.custom_gradient
    def doubled(x):
        return 2.0 * x, lambda dy: 2.0 * dy

    @tf.function
    def slope(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = doubled(x)
        return tape.gradient(y, x)

    before = memory.custom_gradient_names()
    with memory.gradients_released():
        assert float(slope(tf.constant(1.0))) == 2.0
        # TensorFlow registered the trace's gradient globally: what this module releases.
        assert memory.custom_gradient_names() - before
    assert memory.custom_gradient_names() <= before
    # Running the traced function again never looks the gradient up.
    assert float(slope(tf.constant(5.0))) == 2.0


def test_a_trained_model_takes_its_train_step_graphs_with_it(tmp_path, tiny_split):
    known = {id(g) for g in step_graphs()}
    result = TrainingSession.new(small_config(tmp_path), data=tiny_split).run()
    traced = [weakref.ref(g) for g in step_graphs() if id(g) not in known]
    model = weakref.ref(result.model)
    assert traced, "fit traced no train step"
    del result
    gc.collect()
    assert model() is None
    # Before the fix TensorFlow's gradient registry kept the train step's graphs (~20 MB a model).
    assert [ref().name for ref in traced if ref() is not None] == []
