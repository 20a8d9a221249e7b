"""The VAE family as Keras 3 subclassed models.

``VAE`` writes the β-weighted ELBO once. β = 1 is the vanilla VAE and any
β ≥ 0 a β-VAE; ``ConditionalVAE`` only changes what the encoder and decoder
see (a one-hot label is appended to their inputs). The networks of each
architecture are built in ``keras_models.networks``.

The public methods ``encode``, ``decode``, ``sample``, ``reconstruct`` and
``kl_per_dimension`` take and return numpy arrays: images are
``(n, 28, 28, 1)`` float32 in [0, 1] and labels are integer classes ``(n,)``.
"""
from __future__ import annotations

import math
import os
from typing import Any

import keras
import numpy as np
import scipy.special
import tensorflow as tf
from keras import ops

from keras_models import losses
from keras_models.execution import batch_slices, multi_batch_function, slice_sizes, steps_per_execution
from keras_models.config import (ARCHITECTURES, NUM_CLASSES, REGISTERED_PACKAGE, TrainConfig, check_network,
                                 parse_beta)
from keras_models.networks import decoder_network, encoder_network
from keras_models.optimizers import FusedAdam
from keras_models.schedules import CAPACITY, KLSchedule, schedule_of

# One fixed seed for evaluation, so validation numbers repeat run after run.
EVAL_SEED = 2026
TRACKED_TERMS = ("loss", "rec", "kl", "nelbo")


DTYPE_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
# TensorFlow's Philox generator (its algorithm number 1) gives four 32-bit words, eight 16-bit
# uniform numbers, per step of its counter.
PHILOX = 1
HALVES_PER_PHILOX_BLOCK = 8


@keras.saving.register_keras_serializable(package=REGISTERED_PACKAGE)
class VAE(keras.Model):
    """Variational autoencoder with a Bernoulli decoder and a β-weighted KL term."""

    def __init__(
        self,
        latent_dim: int = 10,
        beta: float = 1.0,
        hidden_units: tuple[int, ...] | list[int] = (300, 300),
        image_shape: tuple[int, ...] | list[int] = (28, 28, 1),
        precision: str = "float32",
        arch: str = "mlp",
        schedule: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if precision not in DTYPE_POLICIES:
            raise ValueError(f"unknown precision {precision!r}: choose one of {', '.join(DTYPE_POLICIES)}")
        # Weights are always float32; "bfloat16" runs the matrix products in bfloat16.
        self.precision = precision
        if arch not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {arch!r}: choose one of {', '.join(ARCHITECTURES)}")
        self.arch = arch
        # Checked before any layer is built: a model file's config.json reaches here through
        # from_config, and absurd sizes in it would otherwise allocate gigabytes first.
        self.latent_dim, self.hidden_units, self.image_shape = check_network(latent_dim, hidden_units,
                                                                             image_shape, arch)
        self.beta = parse_beta(beta)
        networks = (arch, self.image_shape, self.condition_dim, self.hidden_units, self.latent_dim,
                    DTYPE_POLICIES[precision])
        self.encoder = encoder_network(*networks)
        self.decoder = decoder_network(*networks)
        # Unseeded: drawn from the global seed that keras.utils.set_random_seed(config.seed) sets.
        self.seed_generator = keras.random.SeedGenerator()
        self.trackers = {name: keras.metrics.Mean(name=name) for name in TRACKED_TERMS}
        # The schedule's value of the current epoch lives in a variable the compiled steps read, so
        # setting it each epoch retraces nothing. Only scheduled models have it: files of models
        # without one keep exactly the variables they always had.
        self.schedule = KLSchedule.from_dict(schedule) if schedule else None
        if self.schedule is not None:
            self.schedule_value = keras.Variable(self.schedule.value(1), dtype="float32", trainable=False,
                                                 name="kl_schedule")
        # A run-time choice, not part of the model: files keep none, and a loaded model takes this machine's.
        self.batch_slices = batch_slices()
        # Both networks are built from explicit input sizes, so the model is complete here.
        self.built = True

    # ----- hooks the variants override -------------------------------------------------
    condition_dim = 0
    conditional = False

    def encoder_inputs(self, x, y):
        return x

    def decoder_inputs(self, z, y):
        return z

    # ----- the ELBO, written once -------------------------------------------------------
    def posterior(self, x: Any, y: Any) -> tuple[Any, Any]:
        """q(z|x) as float32 tensors (mean, log-variance); tensors in, so usable inside a tf.function."""
        stats = ops.cast(self.encoder(self.encoder_inputs(x, y)), "float32")
        z_mean, z_log_var = ops.split(stats, 2, axis=-1)
        return z_mean, z_log_var

    def decoder_logits(self, z: Any, y: Any) -> Any:
        """Bernoulli logits of p(x|z) as a float32 tensor; tensors in, so usable inside a tf.function."""
        return ops.cast(self.decoder(self.decoder_inputs(z, y)), "float32")

    def _rec_and_kl(self, x, y, eps) -> tuple[Any, Any]:
        """Per-image −log p(x|z) for z = μ + σ·eps ~ q(z|x), and KL(q(z|x) ‖ N(0, I))."""
        z_mean, z_log_var = self.posterior(x, y)
        z = z_mean + ops.exp(0.5 * z_log_var) * eps
        logits = self.decoder_logits(z, y)
        return losses.bernoulli_nll(x, logits), losses.gaussian_kl(z_mean, z_log_var)

    def elbo_terms(self, x, y, seed, slices: int = 1, binarize_seed=None) -> dict[str, Any]:
        """Per-batch means of the objective and its parts for binary images ``x``, or for
        grey images binarised here with ``binarize_seed``.

        With ``slices`` > 1 the batch goes through the networks as that many independent
        slices, joined only at the batch means. The noise is drawn once for the whole batch
        and each slice's images get the draws they would get in the whole batch, so the loss
        and its gradient are exactly those of the unsliced batch, but TensorFlow can run the
        slices on different cores at once: a product of a batch of 128 gains almost nothing
        from a second thread, and drawing the binarisation's random numbers in slices takes
        them off the start of the step, where nothing else could run beside them.
        """
        n = tf.shape(x)[0]
        eps = keras.random.normal((n, self.latent_dim), seed=seed)
        if binarize_seed is not None:
            binarize_seed = self._seed_tensor(binarize_seed)  # one draw, shared by the slices
        sizes = slice_sizes(n, slices)
        parts = [tf.split(part, sizes, num=slices) for part in (x, eps)]
        parts.append([None] * slices if y is None else tf.split(y, sizes, num=slices))
        pairs = []
        for i, (xs, es, ys) in enumerate(zip(*parts)):
            if binarize_seed is not None:
                xs = self.binarize(xs, binarize_seed, first_image=i * (n // slices))
            pairs.append(self._rec_and_kl(xs, ys, es))
        rec, kl = (tf.concat(list(part), 0) for part in zip(*pairs))
        rec, kl = ops.mean(rec), ops.mean(kl)
        if self.schedule is None:
            loss = losses.beta_weighted_loss(rec, kl, self.beta)
        elif self.schedule.kind == CAPACITY:
            loss = losses.capacity_loss(rec, kl, self.schedule.gamma, self.schedule_value)
        else:
            loss = losses.beta_weighted_loss(rec, kl, self.schedule_value)
        # The NELBO stays the true, unweighted rec + KL whatever the schedule; loss is what is minimised.
        return {"loss": loss, "rec": rec, "kl": kl, "nelbo": rec + kl}

    def start_from_data_mean(self, images: np.ndarray) -> None:
        """Set the decoder's output biases to the logits of the training images' mean pixel
        values, so that an untrained model already draws the average image instead of grey.

        The MLP has one bias per pixel, the convolutional network one per channel. At the
        reference project's own budget (500 steps of batch 100) this start ended 7.6 nats
        better on the MNIST test set (bench/equal_budget.py).
        """
        bias = self.decoder.get_layer("decoder_output").bias
        mean = np.mean(images, axis=0, dtype="float64")  # accumulated in float64, without a float64 copy
        if tuple(bias.shape) != (mean.size,):
            mean = mean.reshape(-1, bias.shape[0]).mean(axis=0)
        p = np.clip(mean.reshape(-1), 1e-3, 1 - 1e-3)
        bias.assign(np.log(p / (1 - p)).astype("float32"))

    def start_epoch(self, epoch: int) -> float | None:
        """Set the schedule's value for ``epoch`` (1, 2, …) and return it; None without a schedule."""
        if self.schedule is None:
            return None
        value = self.schedule.value(epoch)
        self.schedule_value.assign(value)
        return value

    def _unpack(self, data):
        if isinstance(data, (tuple, list)):
            x = data[0]
            y = data[1] if len(data) > 1 else None
        else:
            x, y = data, None
        if self.conditional and y is None:
            raise ValueError("the conditional VAE needs (images, labels) to train")
        return ops.cast(x, "float32"), y

    def _seed_tensor(self, seed):
        """A stateless seed: an int, a generator's next draw, or a seed tensor as it is."""
        if isinstance(seed, int):
            return tf.constant([seed, 0], dtype=tf.int32)
        if isinstance(seed, keras.random.SeedGenerator):
            return tf.cast(seed.next(), tf.int32)
        return seed

    def binarize(self, x, seed, first_image=0):
        """One Bernoulli draw per pixel with the grey level as its probability.

        The uniform numbers are 16-bit (two per 32-bit random word): half the
        random-number work of float draws, and still 250 times finer than the
        1/255 steps of 8-bit images. Each image takes its own stretch of the random
        stream, set by its place in the batch: images binarised alone from place
        ``first_image`` on get exactly the draws they get in the whole batch.
        """
        n, pixels = tf.shape(x)[0], math.prod(x.shape[1:])
        blocks = -(-pixels // HALVES_PER_PHILOX_BLOCK)
        key, counter = tf.raw_ops.StatelessRandomGetKeyCounter(seed=self._seed_tensor(seed))
        # Philox's counter numbers its blocks: starting it further on skips the earlier images' draws.
        counter += tf.stack([tf.cast(first_image * blocks, tf.uint64), tf.constant(0, tf.uint64)])
        words = tf.raw_ops.StatelessRandomUniformFullIntV2(
            shape=[n * blocks * HALVES_PER_PHILOX_BLOCK // 2], key=key, counter=counter, alg=PHILOX, dtype=tf.uint32)
        halves = tf.reshape(tf.bitcast(words, tf.uint16), [n, -1])[:, :pixels]
        uniform = (tf.cast(halves, tf.float32) + 0.5) * (1.0 / 65536.0)
        return ops.cast(ops.reshape(uniform, ops.shape(x)) < x, "float32")

    def _record(self, terms):
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def train_step(self, data):
        x, y = self._unpack(data)
        binarize_seed = self._seed_tensor(self.seed_generator)
        with tf.GradientTape() as tape:
            terms = self.elbo_terms(x, y, self.seed_generator, self.batch_slices, binarize_seed=binarize_seed)
        grads = tape.gradient(terms["loss"], self.trainable_weights)
        self.optimizer.apply(grads, self.trainable_weights)
        return self._record(terms)

    def test_step(self, data):
        x, y = self._unpack(data)
        # An integer seed makes both draws stateless: the same batch always gives the same numbers.
        return self._record(self.elbo_terms(x, y, EVAL_SEED + 1, self.batch_slices, binarize_seed=EVAL_SEED))

    def make_train_function(self, force=False):
        if self.train_function is None or force:
            super().make_train_function(force=True)
            self.train_function = multi_batch_function(self.train_step, self.steps_per_execution,
                                                       self.train_function, TRACKED_TERMS)
        return self.train_function

    def make_test_function(self, force=False):
        if self.test_function is None or force:
            super().make_test_function(force=True)
            self.test_function = multi_batch_function(self.test_step, self.steps_per_execution,
                                                      self.test_function, TRACKED_TERMS)
        return self.test_function

    def call(self, inputs, training=False):
        x, y = self._unpack(inputs)
        z_mean, _ = self.posterior(x, y)
        return self.decoder_logits(z_mean, y)

    # ----- public numpy API ---------------------------------------------------------------
    def _labels(self, y, n: int):
        if not self.conditional:
            return None
        if y is None:
            raise ValueError("the conditional VAE needs class labels y")
        labels = np.broadcast_to(np.asarray(y, dtype="int32"), (n,))
        if labels.min(initial=0) < 0 or labels.max(initial=0) >= NUM_CLASSES:
            raise ValueError(f"class labels must be in 0..{NUM_CLASSES - 1}, got {sorted(set(labels.tolist()))}")
        return labels

    def encode(self, x, y=None) -> tuple[np.ndarray, np.ndarray]:
        x = ops.convert_to_tensor(np.asarray(x, dtype="float32"))
        z_mean, z_log_var = self.posterior(x, self._labels(y, len(x)))
        return ops.convert_to_numpy(z_mean), ops.convert_to_numpy(z_log_var)

    def decode(self, z, y=None) -> np.ndarray:
        z = ops.convert_to_tensor(np.asarray(z, dtype="float32"))
        return ops.convert_to_numpy(self.decoder_logits(z, self._labels(y, len(z))))

    def decode_label_weights(self, z, weights) -> np.ndarray:
        """Decoder logits under soft labels: ``weights`` (n, 10) in place of one-hot vectors, each
        row non-negative and summing to 1 (a blend of two one-hots morphs one class into another)."""
        if not self.conditional:
            raise ValueError("label weights need the conditional VAE")
        weights = np.asarray(weights, dtype="float32")
        if weights.shape != (len(z), NUM_CLASSES):
            raise ValueError(f"label weights must be shaped ({len(z)}, {NUM_CLASSES}), got {weights.shape}")
        if weights.min() < 0 or not np.allclose(weights.sum(axis=1), 1.0, atol=1e-4):
            raise ValueError("label weights must be non-negative and sum to 1 in every row")
        z = ops.convert_to_tensor(np.asarray(z, dtype="float32"))
        return ops.convert_to_numpy(self.decoder_logits(z, ops.convert_to_tensor(weights)))

    def sample(self, n: int, y=None, seed: int | None = None) -> np.ndarray:
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")
        return sigmoid(self.decode(z, y))

    def reconstruct(self, x, y=None) -> np.ndarray:
        z_mean, _ = self.encode(x, y)
        return sigmoid(self.decode(z_mean, y))

    def kl_per_dimension(self, x, y=None) -> np.ndarray:
        """Mean KL of each latent dimension over the images ``x``, in nats."""
        z_mean, z_log_var = self.encode(x, y)
        return ops.convert_to_numpy(losses.gaussian_kl_per_dimension(z_mean, z_log_var)).mean(axis=0)

    def compile_from_config(self, config):
        super().compile_from_config(config)
        # Build the optimizer's slots now, so a loaded run resumes with its Adam moments
        # instead of Keras silently skipping them.
        self.optimizer.build(self.trainable_variables)

    def get_config(self) -> dict[str, Any]:
        config = {
            "name": self.name,
            "latent_dim": self.latent_dim,
            "beta": self.beta,
            "hidden_units": list(self.hidden_units),
            "image_shape": list(self.image_shape),
            "precision": self.precision,
            "arch": self.arch,
        }
        if self.schedule is not None:
            config["schedule"] = self.schedule.to_dict()
        return config


@keras.saving.register_keras_serializable(package=REGISTERED_PACKAGE)
class ConditionalVAE(VAE):
    """VAE whose encoder and decoder both see the class label as a one-hot vector."""

    condition_dim = NUM_CLASSES
    conditional = True

    def _one_hot(self, y):
        # Integer classes (n,) become one-hot vectors; label weights (n, 10), already vectors, pass as they are.
        if len(y.shape) == 2 and y.shape[-1] == NUM_CLASSES:
            return ops.cast(y, "float32")
        return ops.one_hot(ops.cast(ops.reshape(y, (-1,)), "int32"), NUM_CLASSES)

    def encoder_inputs(self, x, y):
        return [x, self._one_hot(y)]

    def decoder_inputs(self, z, y):
        return [z, self._one_hot(y)]


def sigmoid(logits: np.ndarray) -> np.ndarray:
    # scipy's logistic function: 1 / (1 + exp(−l)) overflows, with a warning, for logits below −88.
    return scipy.special.expit(np.asarray(logits, dtype="float32"))


def resolve_precision(precision: str) -> str:
    """``auto`` picks bfloat16 matrix products where the CPU runs them natively, else float32.

    On a CPU with AVX512-BF16 they train about 1.4 times faster, and the
    validation NELBO of the same weights moved by 0.005 nats (measured on the
    MNIST test set). Machines with a GPU keep float32 under ``auto``.
    """
    if precision != "auto":
        return precision
    if tf.config.list_physical_devices("GPU"):
        return "float32"
    return "bfloat16" if cpu_has_bf16() else "float32"


# Instruction sets oneDNN can be held to (ONEDNN_MAX_CPU_ISA) that have no native bfloat16
# arithmetic: held to one of them, bfloat16 products are emulated, slower than float32.
ISAS_WITHOUT_BF16 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"}


def cpu_has_bf16() -> bool:
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in ISAS_WITHOUT_BF16:
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return False
    return bool({"avx512_bf16", "amx_bf16"} & set(flags.split()))


def build_model(config: TrainConfig, image_shape: tuple[int, ...] = (28, 28, 1)) -> VAE:
    """A compiled model for ``config`` (already validated)."""
    cls = ConditionalVAE if config.conditional else VAE
    schedule = schedule_of(config)
    model = cls(latent_dim=config.latent_dim, beta=config.beta, image_shape=image_shape,
                precision=resolve_precision(config.precision), arch=config.arch, name=config.model,
                schedule=None if schedule is None else schedule.to_dict())
    # XLA measured several times slower than plain graph mode on CPU for this model.
    model.compile(optimizer=FusedAdam(config.learning_rate), jit_compile=False,
                  steps_per_execution=steps_per_execution(config.batch_size))
    # Adam's slots made now, not inside the first traced step: that step would otherwise be
    # traced twice (once to create them), doubling the start of every training.
    model.optimizer.build(model.trainable_variables)
    return model
