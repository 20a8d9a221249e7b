"""Loss arithmetic as pure functions, so each term can be checked by hand.

Every function returns one value per example; the model averages over the
batch. Sums run over pixels (reconstruction) and latent dimensions (KL).
"""
from __future__ import annotations

from keras import ops


def bernoulli_nll(x, logits):
    """−log p(x | z) for a Bernoulli decoder, summed over all pixels of each image.

    Written as softplus(l) − x·l, the numerically stable form of the binary
    cross-entropy with logits l.
    """
    per_pixel = ops.softplus(logits) - x * logits
    return ops.sum(ops.reshape(per_pixel, (ops.shape(per_pixel)[0], -1)), axis=1)


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
