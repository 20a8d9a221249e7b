"""Adam with TensorFlow's fused update kernel.

Keras's Adam writes each variable's update as about a dozen separate tensor
operations (moments, bias correction, square root, division, assignments); in a
training step of the reference network at batch 128 they took as long as one
of its large matrix products. ``ResourceApplyAdam`` does the same arithmetic in
one pass over each variable. Options the kernel does not have (AMSGrad, weight
decay, gradient clipping, EMA) are left to Keras's own update.
"""
from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from keras_models.config import REGISTERED_PACKAGE


def _handle(variable: Any) -> tf.Tensor:
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle


@keras.saving.register_keras_serializable(package=REGISTERED_PACKAGE)
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose plain update (no AMSGrad) runs as one fused kernel per variable."""

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(self._momentums[index]), v=_handle(self._velocities[index]),
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype))
