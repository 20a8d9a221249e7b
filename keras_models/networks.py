"""The encoder and decoder networks of every architecture, as functional Keras models.

- ``mlp``: the reference network, 784-300-300 each way.
- ``conv``: two stride-2 convolutions each way around one dense layer.

The encoder maps an image (and a one-hot label, when conditional) to
``[z_mean, z_log_var]`` as one vector; the decoder maps a code (and label) to
Bernoulli logits shaped like the image.
"""
from __future__ import annotations

import math

import keras
from keras import layers

CONV_FILTERS = (32, 64)
CONV_DENSE_UNITS = 256
# How the MLP's layers start: "pytorch" draws weights and biases from U(±1/√fan_in), as the
# reference project's PyTorch Linear layers do; "glorot" is Keras's default (Glorot-uniform
# weights, zero biases). At the reference's own budget the PyTorch start ends 1.4 nats
# better (bench/equal_budget.py).
MLP_INITIALISATION = "pytorch"


class FanInUniform(keras.initializers.Initializer):
    """U(−1/√fan_in, 1/√fan_in), whatever the shape: PyTorch's default for a Linear layer's bias."""

    def __init__(self, fan_in: int) -> None:
        self.fan_in = fan_in

    def __call__(self, shape, dtype=None):
        limit = 1.0 / math.sqrt(self.fan_in)
        return keras.random.uniform(shape, -limit, limit, dtype=dtype)

    def get_config(self) -> dict:
        return {"fan_in": self.fan_in}


def _dense(arch: str, units: int, fan_in: int, **kwargs) -> layers.Dense:
    """A dense layer, started as ``MLP_INITIALISATION`` says in the MLP and as Keras does elsewhere."""
    if arch != "mlp" or MLP_INITIALISATION == "glorot":
        return layers.Dense(units, **kwargs)
    # VarianceScaling's uniform limit is √(3·scale/fan_in): scale 1/3 gives 1/√fan_in.
    return layers.Dense(units, kernel_initializer=keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform"),
                        bias_initializer=FanInUniform(fan_in), **kwargs)


def encoder_network(arch: str, image_shape: tuple[int, ...], condition_dim: int,
                    hidden_units: tuple[int, ...], latent_dim: int, policy: str) -> keras.Model:
    """Image (and one-hot label, when conditional) -> [z_mean, z_log_var] as one vector."""
    image = keras.Input(shape=image_shape, name="image")
    inputs = [image]
    h = image
    if arch == "conv":
        for filters in CONV_FILTERS:
            h = layers.Conv2D(filters, 4, strides=2, padding="same", activation="elu", dtype=policy)(h)
        hidden_units = (CONV_DENSE_UNITS,)
    h = layers.Flatten()(h)
    if condition_dim:
        label = keras.Input(shape=(condition_dim,), name="label")
        inputs.append(label)
        h = layers.Concatenate()([h, label])
    for i, units in enumerate(hidden_units):
        h = _dense(arch, units, h.shape[-1], activation="elu", name=f"encoder_hidden{i + 1}", dtype=policy)(h)
    outputs = _dense(arch, 2 * latent_dim, h.shape[-1], name="encoder_output", dtype=policy)(h)
    return keras.Model(inputs if condition_dim else image, outputs, name="encoder")


def decoder_network(arch: str, image_shape: tuple[int, ...], condition_dim: int,
                    hidden_units: tuple[int, ...], latent_dim: int, policy: str) -> keras.Model:
    """Code z (and one-hot label, when conditional) -> Bernoulli logits shaped like the image."""
    z = keras.Input(shape=(latent_dim,), name="z")
    inputs = [z]
    h = z
    if condition_dim:
        label = keras.Input(shape=(condition_dim,), name="label")
        inputs.append(label)
        h = layers.Concatenate()([z, label])
    if arch == "mlp":
        for i, units in enumerate(reversed(hidden_units)):
            h = _dense(arch, units, h.shape[-1], activation="elu", name=f"decoder_hidden{i + 1}", dtype=policy)(h)
        h = _dense(arch, math.prod(image_shape), h.shape[-1], name="decoder_output", dtype=policy)(h)
        outputs = layers.Reshape(image_shape)(h)
    else:
        height, width, channels = image_shape[0] // 4, image_shape[1] // 4, image_shape[2]
        h = layers.Dense(CONV_DENSE_UNITS, activation="elu", name="decoder_hidden1", dtype=policy)(h)
        h = layers.Dense(height * width * CONV_FILTERS[-1], activation="elu", name="decoder_hidden2",
                         dtype=policy)(h)
        h = layers.Reshape((height, width, CONV_FILTERS[-1]))(h)
        h = layers.Conv2DTranspose(CONV_FILTERS[0], 4, strides=2, padding="same", activation="elu",
                                   dtype=policy)(h)
        outputs = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", name="decoder_output",
                                         dtype=policy)(h)
    return keras.Model(inputs if condition_dim else z, outputs, name="decoder")
