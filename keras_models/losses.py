"""Loss arithmetic as pure functions, so each term can be checked by hand.

Every function returns one value per example; the model averages over the
batch. Sums run over pixels (reconstruction) and latent dimensions (KL).
"""
from __future__ import annotations

import math

import tensorflow as tf
from keras import ops


def product_group(pixel_count: int) -> int:
    """Pixels whose factors are multiplied before one log: the largest divisor of the pixel
    count up to 112. A product of at most 112 factors in [0.5, 1] stays above 2^-112, and one
    of factors in [1, 2] below 2^112, inside float32's normal range."""
    return max(g for g in range(1, 113) if pixel_count % g == 0)


def log_product_sum(factors):
    """Σ log(factor) over the last axis, for factors in [0.5, 1] or [1, 2]: one log per group of
    pixels (``product_group``), not one per pixel."""
    shape = tf.shape(factors)
    pixels = factors.shape[-1]
    group = product_group(pixels)
    grouped = tf.reshape(factors, tf.concat([shape[:-1], [pixels // group, group]], axis=0))
    return tf.reduce_sum(tf.math.log(tf.reduce_prod(grouped, axis=-1)), axis=-1)


@tf.custom_gradient
def _bernoulli_nll_rows(x, logits):
    sigmoid_magnitude = tf.sigmoid(tf.abs(logits))
    nll = (tf.reduce_sum(tf.nn.relu(logits) - x * logits, axis=-1)
           - log_product_sum(sigmoid_magnitude))

    def gradient(upstream):
        # d/dl [softplus(l) − x·l] = σ(l) − x; the images get no gradient.
        return None, (tf.sigmoid(logits) - x) * upstream[:, None]

    return nll, gradient


def bernoulli_nll(x, logits):
    """−log p(x | z) for a Bernoulli decoder, summed over all pixels of each image.

    The binary cross-entropy with logits l, softplus(l) − x·l, written as
    relu(l) − x·l − log σ(|l|), which is stable for any logit. TensorFlow's
    softplus kernel is slow on CPU (in a training step at batch 1000 it took as
    long as half of the largest matrix product), so the logs of σ(|l|) ∈ [0.5, 1]
    are taken per group of pixels as the log of their product, and the gradient
    σ(l) − x is given directly instead of differentiating the expression.
    """
    n = tf.shape(logits)[0]
    pixels = math.prod(logits.shape[1:])
    return _bernoulli_nll_rows(tf.reshape(tf.cast(x, logits.dtype), [n, pixels]), tf.reshape(logits, [n, pixels]))


def gaussian_kl_per_dimension(z_mean, z_log_var):
    """KL(N(μ, σ²) ‖ N(0, 1)) for each latent dimension, in nats."""
    return 0.5 * (ops.exp(z_log_var) + ops.square(z_mean) - 1.0 - z_log_var)


def gaussian_kl(z_mean, z_log_var):
    """KL(q(z | x) ‖ N(0, I)) in closed form, summed over latent dimensions."""
    return ops.sum(gaussian_kl_per_dimension(z_mean, z_log_var), axis=1)


def beta_weighted_loss(rec, kl, beta: float):
    """The β-VAE objective: rec + β·KL (β = 1 gives the negative ELBO)."""
    return rec + beta * kl


def capacity_loss(rec, kl, gamma: float, capacity):
    """Burgess et al.'s capacity objective: rec + γ·|KL − C|, pulling the KL towards C nats."""
    return rec + gamma * ops.abs(kl - capacity)
