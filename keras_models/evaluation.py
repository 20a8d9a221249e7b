"""Numbers that measure a trained model, for the β study. No Qt, no files.

Likelihood numbers are in nats per image on binary images. The caller
binarises (``keras_models.data.binarize_fixed`` gives the fixed seeded draw);
``evaluate`` does it itself and names the draw in its ``protocol`` entry, so
every number it returns says how it was measured.

The importance-sampled bound (IWAE, Burda, Grosse & Salakhutdinov 2016) is

    log p(x) ≈ logsumexp_k [log p(x|z_k) + log p(z_k) − log q(z_k|x)] − log k,   z_k ~ q(z|x),

which never exceeds log p(x) in expectation and approaches it as k grows.
"""
from __future__ import annotations

import math
import warnings
import weakref
from typing import Any

import numpy as np
import scipy.linalg
import tensorflow as tf

from keras_models import classifier as digit_classifier
from keras_models import losses
from keras_models.config import ACTIVE_UNIT_THRESHOLD
from keras_models.events import JobState, ProgressMeter, check_stop
from keras_models.data import binarize_fixed
from keras_models.execution import slice_sizes
from keras_models.models import EVAL_SEED, NUM_CLASSES, VAE

# (image, importance sample) pairs per decoder batch. At 784 pixels a row carries
# about 3 kB per float32 tensor and a batch holds a handful of such tensors, so
# 4,096 rows stay under 100 MB, and the two batches in flight under 200 MB. On a
# 2-core CPU, 4,000 to 8,000 rows measured fastest: 1,000 or 2,000 ran the matrix
# products less efficiently, 8,000 and 16,000 gained nothing.
DECODER_ROWS = 4096
# Decoder batches one graph call works through when each holds all of its images' samples.
GROUPS_PER_CALL = 16


def _label_tensor(model: VAE, labels, n: int) -> np.ndarray:
    """Validated labels for a CVAE; zeros for a VAE, whose networks ignore them.

    The graph function always takes a label tensor, so one signature serves both.
    """
    checked = model._labels(labels, n)
    return np.zeros(n, dtype="int32") if checked is None else np.ascontiguousarray(checked)


def bernoulli_nll_samples(x_flat: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """−log p(x|z) for several decoder outputs per image: ``x_flat`` (n, pixels) binary,
    ``logits`` (n, samples, pixels) -> (n, samples). Equal to ``losses.bernoulli_nll``.

    TensorFlow's softplus kernel is slow on CPU, and it runs over all k × pixels
    logits of every image. This form needs the logits' magnitudes and
    ``losses.log_sigmoid_magnitude_sum``:

        softplus(l) − x·l = |l|/2 + (1/2 − x)·l − log σ(|l|),

    where the middle term is one matrix-vector product per image.
    """
    magnitude = tf.abs(logits)
    linear = tf.einsum("nsp,np->ns", logits, 0.5 - x_flat)
    return 0.5 * tf.reduce_sum(magnitude, axis=-1) + linear - losses.log_sigmoid_magnitude_sum(magnitude)


# One graph function per model, traced once and reused by later calls. The function
# holds the model only weakly, so an entry goes when its model does.
_chunk_functions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _chunk_function(model: VAE):
    """A graph function: (images, labels, images per group, samples per image, seed) -> per
    image (logsumexp and sum of the log importance weights, −log p(x|z) summed over the
    samples, analytic KL(q(z|x) ‖ p(z))).

    The images go through in groups; all samples of a group's images go through the
    decoder as one batch. Group g draws from its own stateless stream [seed[0], seed[1] + g].
    """
    if model in _chunk_functions:
        return _chunk_functions[model]
    model_ref = weakref.ref(model)
    latent_dim, pixel_count = model.latent_dim, math.prod(model.image_shape)
    slices = model.batch_slices

    def group_terms(x, y, samples, seed):
        model = model_ref()
        z_mean, z_log_var = model.posterior(x, y)
        n = tf.shape(x)[0]
        eps = tf.random.stateless_normal([n, samples, latent_dim], seed=seed)
        z = z_mean[:, None, :] + tf.exp(0.5 * z_log_var)[:, None, :] * eps
        # The samples go through the decoder as one slice per core, each slice's products and
        # Bernoulli terms independent of the others', so one slice's elementwise work runs
        # beside another's products. The numbers are the same.
        x_flat = tf.reshape(x, [n, pixel_count])
        recs = []
        for z_slice in tf.split(z, slice_sizes(samples, slices), num=slices, axis=1):
            width = tf.shape(z_slice)[1]
            logits = model.decoder_logits(tf.reshape(z_slice, [-1, latent_dim]), tf.repeat(y, width))
            recs.append(bernoulli_nll_samples(x_flat, tf.reshape(logits, [n, width, pixel_count])))
        rec = tf.concat(recs, axis=1)
        # log p(z) − log q(z|x) for diagonal Gaussians: the 2π constants cancel and
        # (z − μ)/σ is ε itself.
        log_prior_ratio = 0.5 * tf.reduce_sum(tf.square(eps) - tf.square(z) + z_log_var[:, None, :], axis=-1)
        log_weights = log_prior_ratio - rec
        kl = losses.gaussian_kl(z_mean, z_log_var)
        return (tf.reduce_logsumexp(log_weights, axis=1), tf.reduce_sum(log_weights, axis=1),
                tf.reduce_sum(rec, axis=1), kl)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, *model.image_shape], tf.float32),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([2], tf.int32),
        ],
        jit_compile=False,  # XLA measured slower than plain graph mode for these models on CPU
    )
    def chunk_terms(x, y, group, samples, seed):
        n = tf.shape(x)[0]
        groups = (n + group - 1) // group

        def one_group(g, *arrays):
            start = g * group
            stop = tf.minimum(start + group, n)
            terms = group_terms(x[start:stop], y[start:stop], samples, tf.stack([seed[0], seed[1] + g]))
            return (g + 1, *(array.write(g, value) for array, value in zip(arrays, terms)))

        # Several groups a call: each call back to Python cost about a millisecond, 6% of a
        # group's time at k = 1000. Two groups in flight let one's encoder and joins run
        # beside the other's decoder.
        arrays = [tf.TensorArray(tf.float32, size=groups, infer_shape=False) for _ in range(4)]
        _, *arrays = tf.while_loop(lambda g, *_: g < groups, one_group, [tf.constant(0), *arrays],
                                   parallel_iterations=2)
        return tuple(array.concat() for array in arrays)

    _chunk_functions[model] = chunk_terms
    return chunk_terms


def likelihood_bounds(model: VAE, images: np.ndarray, labels: np.ndarray | None = None, k: int = 1000,
                      seed: int = EVAL_SEED, batch_images: int | None = None,
                      state: JobState | None = None) -> dict[str, np.ndarray]:
    """Per-image numbers from one pass of ``k`` draws z ~ q(z|x), in nats:

    - ``nll``: the IWAE estimate of −log p(x);
    - ``nelbo_sampled``: the negative ELBO from the same draws, −mean_k log w_k. It is
      never below ``nll`` (Jensen), whatever the draws;
    - ``rec``: −log p(x|z) averaged over the draws, and ``kl``: the closed-form
      KL(q(z|x) ‖ N(0, I)); ``rec + kl`` is the usual (β = 1) negative ELBO.

    ``images`` are binary {0, 1} float32 ``(n, 28, 28, 1)``; ``labels`` are needed for
    a conditional model. The numbers are repeatable for a given ``seed`` and
    ``batch_images`` (images per decoder batch; by default as many as keep one batch
    near ``DECODER_ROWS`` image-sample pairs). A stop requested on ``state`` raises
    ``Stopped`` after the graph call in progress (at most ``GROUPS_PER_CALL`` decoder batches).
    """
    if k < 1:
        raise ValueError(f"the number of importance samples must be >= 1, got {k}")
    images = np.asarray(images, dtype="float32")
    n = len(images)
    y = _label_tensor(model, labels, n)
    if batch_images is None:
        batch_images = max(1, DECODER_ROWS // k)
    samples_per_call = max(1, min(k, DECODER_ROWS // batch_images))
    # An image's samples in one decoder batch: several groups a call; else one group a call.
    images_per_call = batch_images * (GROUPS_PER_CALL if samples_per_call == k else 1)
    chunk_terms = _chunk_function(model)
    log_mean_weight, log_weight_sum, rec_sum, kl = np.empty(n), np.zeros(n), np.zeros(n), np.empty(n)
    meter = ProgressMeter(state, f"IWAE bound (k = {k:,}) on {n:,} images",
                          math.ceil(n / batch_images) * math.ceil(k / samples_per_call))
    group = tf.constant(batch_images, tf.int32)
    batches = 0  # each decoder batch draws from its own stateless stream [seed, batches before it]
    for start in range(0, n, images_per_call):
        stop = min(start + images_per_call, n)
        x_batch, y_batch = tf.constant(images[start:stop]), tf.constant(y[start:stop])
        groups = math.ceil((stop - start) / batch_images)
        lse = np.full(stop - start, -np.inf)
        for done in range(0, k, samples_per_call):
            check_stop(state)
            chunk = min(samples_per_call, k - done)
            chunk_lse, chunk_sum, chunk_rec, chunk_kl = chunk_terms(
                x_batch, y_batch, group, tf.constant(chunk, tf.int32), tf.constant([seed, batches], tf.int32))
            batches += groups
            meter.update(batches)
            lse = np.logaddexp(lse, chunk_lse.numpy())
            log_weight_sum[start:stop] += chunk_sum.numpy()
            rec_sum[start:stop] += chunk_rec.numpy()
        kl[start:stop] = chunk_kl.numpy()
        log_mean_weight[start:stop] = lse - math.log(k)
    return {"nll": -log_mean_weight, "nelbo_sampled": -log_weight_sum / k, "rec": rec_sum / k, "kl": kl}


def iwae_nll(model: VAE, images: np.ndarray, labels: np.ndarray | None = None, k: int = 1000,
             seed: int = EVAL_SEED, batch_images: int | None = None) -> np.ndarray:
    """Per-image negative log-likelihood −log p(x) estimated with ``k`` importance samples
    (see ``likelihood_bounds`` for the arguments)."""
    return likelihood_bounds(model, images, labels, k, seed, batch_images)["nll"]


def nelbo_terms(model: VAE, images: np.ndarray, labels: np.ndarray | None = None, samples: int = 1,
                seed: int = EVAL_SEED) -> dict[str, np.ndarray]:
    """Per-image negative ELBO and its parts, true and unweighted (β = 1), in nats.

    ``rec`` is −log p(x|z) averaged over ``samples`` draws z ~ q(z|x) (one, as in
    training, by default) and ``kl`` the closed-form KL(q(z|x) ‖ N(0, I));
    ``nelbo`` = rec + kl. ``nelbo − iwae_nll`` is the ELBO's gap to the log-likelihood.
    """
    bounds = likelihood_bounds(model, images, labels, samples, seed)
    return {"rec": bounds["rec"], "kl": bounds["kl"], "nelbo": bounds["rec"] + bounds["kl"]}


def active_units(model: VAE, images: np.ndarray, labels: np.ndarray | None = None,
                 threshold: float = ACTIVE_UNIT_THRESHOLD, batch_size: int = 1000) -> tuple[int, np.ndarray]:
    """Latent dimensions the model uses: (count, variance over x of E_q[z_i|x] per dimension).

    A dimension is active when that variance exceeds ``threshold`` (Burda et al.
    use 0.01): an inactive one gives the same posterior mean whatever the image.
    This is the tool's one definition of active units; the study, Evaluate and the
    window's KL panel all count with it.
    """
    images = np.asarray(images, dtype="float32")
    y = model._labels(labels, len(images))
    means = [model.encode(images[i:i + batch_size], None if y is None else y[i:i + batch_size])[0]
             for i in range(0, len(images), batch_size)]
    variance = np.concatenate(means).astype("float64").var(axis=0)
    return int((variance > threshold).sum()), variance


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows are samples).

    ‖μa − μb‖² + tr(Σa + Σb − 2 (Σa Σb)^½), the quantity behind FID.
    """
    a = np.asarray(features_a, dtype="float64").reshape(len(features_a), -1)
    b = np.asarray(features_b, dtype="float64").reshape(len(features_b), -1)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets differ in width: {a.shape[1]} and {b.shape[1]}")
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    # The product of two covariance matrices has real, non-negative eigenvalues, but
    # sqrtm works in complex arithmetic and leaves round-off in the imaginary part.
    # Covariances are often singular (dead ReLU features, fewer samples than features);
    # sqrtm then warns, yet its trace matched an eigendecomposition to 1e-9 in checks.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        cross = np.real(scipy.linalg.sqrtm(cov_a @ cov_b))
    distance = np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2) + np.trace(cov_a + cov_b - 2.0 * cross)
    # Round-off can push a true zero slightly below it.
    return float(max(distance, 0.0))


def evaluate(model: VAE, val_images: np.ndarray, val_labels: np.ndarray, k: int = 1000,
             seed: int = EVAL_SEED, classifier: digit_classifier.TrainedClassifier | None = None,
             n_samples: int | None = None, state: JobState | None = None) -> dict[str, Any]:
    """Every number of the β-study table for one model, measured on the test images.

    ``val_images`` are grey levels in [0, 1]; they are binarised once with
    ``binarize_fixed(val_images, seed)`` and every likelihood number is measured on
    that draw (the importance draws use ``seed + 1``, the generated samples
    ``seed + 2``). The NELBO's reconstruction term is averaged over the same ``k``
    draws that give the IWAE bound, so ``elbo_gap`` (NELBO − NLL, ≥ 0 up to noise)
    compares like with like.

    With a ``classifier``, ``n_samples`` prior samples (default: as many as there are
    test images; for a CVAE, labels spread evenly over the classes) are compared with
    the grey test images: ``frechet_distance`` between the classifier's features of the
    two (decoder means against test images, as usual for MNIST), and for a CVAE
    ``class_accuracy``, the fraction of samples the classifier puts in the requested class.
    Numbers that are not measured are None. A stop requested on ``state`` raises ``Stopped``
    within one decoder call.
    """
    val_images = np.asarray(val_images, dtype="float32")
    binary = binarize_fixed(val_images, seed)
    labels = val_labels if model.conditional else None
    bounds = likelihood_bounds(model, binary, labels, k, seed + 1, state=state)
    check_stop(state)
    count, variance = active_units(model, binary, labels)
    rec, kl, nll = (float(bounds[name].mean()) for name in ("rec", "kl", "nll"))
    result: dict[str, Any] = {
        "protocol": {"binarisation": f"fixed, seed {seed}", "k": k, "images": len(val_images),
                     "generated": None},
        "nelbo": rec + kl,
        "rec": rec,
        "kl": kl,
        "iwae_nll": nll,
        "elbo_gap": rec + kl - nll,
        "active_units": count,
        "latent_dim": model.latent_dim,
        "latent_variance": variance.tolist(),
        "frechet_distance": None,
        "class_accuracy": None,
        "classifier_accuracy": None,
    }
    if classifier is not None:
        n_samples = len(val_images) if n_samples is None else n_samples
        sample_labels = np.arange(n_samples) % NUM_CLASSES if model.conditional else None
        check_stop(state)
        # Four steps of about equal cost at MNIST sizes: sampling, the two feature passes, the distance.
        meter = ProgressMeter(state, f"Fréchet distance on {n_samples:,} samples", 4)
        generated = model.sample(n_samples, sample_labels, seed=seed + 2)
        meter.advance()
        generated_features = digit_classifier.features(classifier, generated)
        meter.advance()
        check_stop(state)
        test_features = digit_classifier.features(classifier, val_images)
        meter.advance()
        result["protocol"]["generated"] = n_samples
        result["frechet_distance"] = frechet_distance(generated_features, test_features)
        meter.finish()
        result["classifier_accuracy"] = classifier.test_accuracy
        if model.conditional:
            predicted = digit_classifier.predict(classifier, generated)
            result["class_accuracy"] = float(np.mean(predicted == sample_labels))
    return result
