"""Disentanglement metrics: does each latent dimension capture one generating factor, alone?

Each metric is a pure function of codes ``(n, d)`` (typically the encoder's
means) and factors ``(n, k)`` of discrete factor indices, such as the
``train_factors`` of the shapes or dsprites splits. The definitions follow
google-research/disentanglement_lib, so scores are comparable with published ones:

* ``mig``: Mutual Information Gap (Chen et al. 2018);
* ``dci``: Disentanglement, Completeness, Informativeness (Eastwood & Williams 2018);
* ``factor_vae_score``: majority-vote accuracy of the FactorVAE metric (Kim & Mnih
  2018), against an encoder and an image sampler; ``factor_vae_score_from_codes``
  is the same test when the codes of a labelled set are already at hand.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

# The FactorVAE metric ignores dimensions whose spread over the data is below this
# standard deviation (disentanglement_lib's threshold): collapsed dimensions match
# the prior, carry nothing and would otherwise win every vote with ratio 0/0.
ACTIVE_DIM_MIN_STD = 0.05


def _check_codes_and_factors(codes: np.ndarray, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate the pair; return float64 codes and factors recoded as 0..m-1 per column."""
    codes = np.asarray(codes, dtype="float64")
    factors = np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2:
        raise ValueError(f"codes and factors must be 2-D (n, d) and (n, k), got {codes.shape} and {factors.shape}")
    if len(codes) != len(factors):
        raise ValueError(f"codes and factors must have the same rows, got {len(codes)} and {len(factors)}")
    if len(codes) < 2:
        raise ValueError("at least two observations are needed")
    if not np.all(np.isfinite(codes)):
        raise ValueError("codes contain NaN or infinite values")
    # Factor labels may be any integers (negative, sparse): only their identity matters.
    recoded = np.stack([np.unique(column, return_inverse=True)[1].ravel() for column in factors.T], axis=1)
    return codes, recoded


def discretize(codes: np.ndarray, bins: int) -> np.ndarray:
    """Each code dimension cut into ``bins`` equal-width bins between its minimum and maximum.

    As disentanglement_lib's ``_histogram_discretize``; a constant dimension
    falls in a single bin. Returns int64 bin indices ``(n, d)`` in 0..bins-1.
    """
    low, high = codes.min(axis=0), codes.max(axis=0)
    width = np.where(high > low, (high - low) / bins, 1.0)
    return np.clip(np.floor((codes - low) / width), 0, bins - 1).astype("int64")


def entropy(labels: np.ndarray) -> float:
    """Entropy in nats of the empirical distribution of non-negative integer labels."""
    p = np.bincount(labels) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information in nats between two non-negative integer label arrays.

    The plug-in estimate from the joint histogram, equal to
    ``sklearn.metrics.mutual_info_score`` but one ``bincount`` instead of a sparse matrix.
    """
    n_b = int(b.max()) + 1
    joint = np.bincount(a * n_b + b).astype("float64") / len(a)
    p_a = np.bincount(a) / len(a)
    p_b = np.bincount(b, minlength=n_b) / len(b)
    cells = np.flatnonzero(joint)
    ia, ib = np.divmod(cells, n_b)
    p = joint[cells]
    return float(max(0.0, (p * np.log(p / (p_a[ia] * p_b[ib]))).sum()))


def mig(codes: np.ndarray, factors: np.ndarray, bins: int = 20) -> dict:
    """Mutual Information Gap: per factor, the difference between the two latents that share
    the most information with it, divided by the factor's entropy; averaged over factors.

    1 means each factor is wholly captured by one latent and by no other; 0, by none
    or by several alike. The codes are discretised into ``bins`` equal-width bins,
    which caps what a factor with more values can reach: a perfect copy of a factor
    with 40 equally likely values scores log 20 / log 40 ≈ 0.81 with 20 bins.

    Returns ``score``, ``per_factor`` (k,; NaN for a constant factor, left out of
    the mean), ``mutual_information`` (d, k) and ``factor_entropy`` (k,), in nats.
    """
    codes, factors = _check_codes_and_factors(codes, factors)
    if codes.shape[1] < 2:
        raise ValueError("MIG needs at least two code dimensions")
    binned = discretize(codes, bins)
    information = np.array([[mutual_information(binned[:, j], factors[:, i]) for i in range(factors.shape[1])]
                            for j in range(codes.shape[1])])
    factor_entropy = np.array([entropy(column) for column in factors.T])
    top_two = -np.sort(-information, axis=0)[:2]
    varies = factor_entropy > 0
    per_factor = np.full(factors.shape[1], np.nan)
    per_factor[varies] = (top_two[0, varies] - top_two[1, varies]) / factor_entropy[varies]
    score = float(per_factor[varies].mean()) if varies.any() else 0.0
    return {"score": score, "per_factor": per_factor, "mutual_information": information,
            "factor_entropy": factor_entropy}


def _one_minus_entropy(weights: np.ndarray) -> np.ndarray:
    """1 − entropy of each row of non-negative ``weights`` as a distribution, in base = row length,
    so 1 means all weight on one entry and 0 means spread evenly (or no weight at all)."""
    totals = weights.sum(axis=1, keepdims=True)
    p = weights / np.where(totals > 0, totals, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    score = np.clip(1 + terms.sum(axis=1) / np.log(weights.shape[1]), 0.0, 1.0)  # rounding can stray past
    return np.where(totals[:, 0] > 0, score, 0.0)


def _weighted_by_share(values: np.ndarray, weights: np.ndarray) -> float:
    """Mean of ``values`` weighted by each row's share of the total weight (even if none)."""
    shares = weights.sum(axis=1)
    total = shares.sum()
    shares = shares / total if total > 0 else np.full(len(shares), 1 / len(shares))
    return float((values * shares).sum())


def _fit_importances(model: str, x_train, y_train, x_test, y_test, n_estimators: int, lasso_alpha: float,
                     seed: int) -> tuple[np.ndarray, float, float]:
    """Importance of each code for predicting one factor, and the train and test informativeness."""
    if model == "gbt":
        from sklearn.ensemble import GradientBoostingClassifier

        if len(np.unique(y_train)) < 2:  # nothing to learn: the factor never varies in training
            return np.zeros(x_train.shape[1]), 1.0, float(np.mean(y_test == y_train[0]))
        predictor = GradientBoostingClassifier(n_estimators=n_estimators, random_state=seed)
        predictor.fit(x_train, y_train)
        return (np.abs(predictor.feature_importances_),
                float(np.mean(predictor.predict(x_train) == y_train)),
                float(np.mean(predictor.predict(x_test) == y_test)))
    from sklearn.linear_model import Lasso

    # Standardised targets make alpha and |coef| comparable across factors and codes.
    mean, std = y_train.mean(), y_train.std()
    if std == 0:
        return np.zeros(x_train.shape[1]), 1.0, 0.0
    predictor = Lasso(alpha=lasso_alpha)
    predictor.fit(x_train, (y_train - mean) / std)
    return (np.abs(predictor.coef_),
            float(predictor.score(x_train, (y_train - mean) / std)),
            float(predictor.score(x_test, (y_test - mean) / std)))


def dci(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray, factors_test: np.ndarray,
        model: str = "gbt", max_train: int = 1000, n_estimators: int = 10, lasso_alpha: float = 0.02,
        seed: int = 0) -> dict:
    """Disentanglement, completeness and informativeness from one predictor per factor.

    ``model`` "gbt" fits a gradient-boosted tree classifier per factor and takes its
    feature importances, as disentanglement_lib does; informativeness is then
    prediction accuracy. "lasso" fits a Lasso regression of each (standardised)
    factor index on the standardised codes and takes |coefficients|;
    informativeness is then R². Either way:

    * disentanglement: per code, 1 − entropy (base k) of its importance over the
      factors, averaged with weights proportional to the code's total importance;
    * completeness: per factor, 1 − entropy (base d) of its importance over the
      codes, averaged likewise;
    * informativeness: the predictors' mean accuracy or R² on the test codes.

    Boosting builds one tree per class and stage, so it is kept quick by fitting on
    at most ``max_train`` randomly chosen training rows with ``n_estimators`` stages
    (disentanglement_lib: all rows, 100 stages; for the shapes factors, 113
    classes in all, that takes minutes rather than seconds). Lasso uses every row.

    Returns ``disentanglement``, ``completeness``, ``informativeness_train``,
    ``informativeness_test``, ``informativeness_measure`` ("accuracy" or "r2"),
    ``importance_matrix`` (d, k), ``disentanglement_per_code`` (d,) and
    ``completeness_per_factor`` (k,).
    """
    if model not in ("gbt", "lasso"):
        raise ValueError(f"unknown DCI model {model!r}: choose gbt or lasso")
    # The predictors take the factor labels as they are; the check is for shapes and values.
    _check_codes_and_factors(codes_train, factors_train)
    _check_codes_and_factors(codes_test, factors_test)
    codes_train, factors_train = np.asarray(codes_train, "float64"), np.asarray(factors_train)
    codes_test, factors_test = np.asarray(codes_test, "float64"), np.asarray(factors_test)
    if codes_train.shape[1] != codes_test.shape[1] or factors_train.shape[1] != factors_test.shape[1]:
        raise ValueError("training and test sets must have the same code and factor columns")
    n_codes, n_factors = codes_train.shape[1], factors_train.shape[1]
    if n_codes < 2 or n_factors < 2:
        raise ValueError("DCI needs at least two code dimensions and two factors")
    if model == "gbt" and len(codes_train) > max_train:
        keep = np.random.default_rng(seed).choice(len(codes_train), max_train, replace=False)
        codes_train, factors_train = codes_train[keep], factors_train[keep]
    if model == "lasso":
        # Standardise with the training statistics; a constant code stays all zeros.
        mean, std = codes_train.mean(axis=0), codes_train.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        codes_train, codes_test = (codes_train - mean) / std, (codes_test - mean) / std
    importance = np.zeros((n_codes, n_factors))
    informativeness = np.zeros((2, n_factors))
    for i in range(n_factors):
        importance[:, i], *scores = _fit_importances(
            model, codes_train, factors_train[:, i], codes_test, factors_test[:, i],
            n_estimators, lasso_alpha, seed)
        informativeness[:, i] = scores
    per_code = _one_minus_entropy(importance)
    per_factor = _one_minus_entropy(importance.T)
    return {
        "disentanglement": _weighted_by_share(per_code, importance),
        "completeness": _weighted_by_share(per_factor, importance.T),
        "informativeness_train": float(informativeness[0].mean()),
        "informativeness_test": float(informativeness[1].mean()),
        "informativeness_measure": "accuracy" if model == "gbt" else "r2",
        "importance_matrix": importance,
        "disentanglement_per_code": per_code,
        "completeness_per_factor": per_factor,
    }


# ----- the FactorVAE score ----------------------------------------------------------------------
CodeSampler = Callable[[np.random.Generator, int | None, int], np.ndarray]


def _factor_vae_votes(sample_codes: CodeSampler, num_factors: int, batch_size: int, num_votes: int,
                      global_std: np.ndarray, active: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Votes (active dims, factors): for batches with one random factor fixed, which active
    dimension varies least relative to its spread over the whole data."""
    votes = np.zeros((int(active.sum()), num_factors), dtype="int64")
    for _ in range(num_votes):
        factor = int(rng.integers(num_factors))
        local_std = sample_codes(rng, factor, batch_size).std(axis=0, ddof=1)
        votes[np.argmin(local_std[active] / global_std[active]), factor] += 1
    return votes


def _factor_vae(sample_codes: CodeSampler, num_factors: int, batch_size: int, num_train: int, num_eval: int,
                num_variance_estimate: int, seed: int) -> dict:
    if batch_size < 2:
        raise ValueError("the FactorVAE score needs batches of at least two observations")
    rng = np.random.default_rng(seed)
    global_std = sample_codes(rng, None, num_variance_estimate).std(axis=0, ddof=1)
    active = global_std >= ACTIVE_DIM_MIN_STD
    if not active.any():
        return {"score": 0.0, "train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0,
                "dim_to_factor": np.full(len(global_std), -1)}
    train_votes = _factor_vae_votes(sample_codes, num_factors, batch_size, num_train, global_std, active, rng)
    eval_votes = _factor_vae_votes(sample_codes, num_factors, batch_size, num_eval, global_std, active, rng)
    # The majority-vote classifier: each active dimension predicts the factor it most often won for.
    winner = train_votes.argmax(axis=1)
    rows = np.arange(len(winner))
    eval_accuracy = float(eval_votes[rows, winner].sum() / eval_votes.sum())
    dim_to_factor = np.full(len(global_std), -1)
    dim_to_factor[active] = winner
    return {"score": eval_accuracy, "train_accuracy": float(train_votes[rows, winner].sum() / train_votes.sum()),
            "eval_accuracy": eval_accuracy, "num_active_dims": int(active.sum()), "dim_to_factor": dim_to_factor}


def factor_vae_score(encode: Callable[[np.ndarray], np.ndarray],
                     sample_images: Callable[[int, np.random.Generator, int | None], np.ndarray],
                     num_factors: int, batch_size: int = 64, num_train: int = 800, num_eval: int = 400,
                     num_variance_estimate: int = 10000, seed: int = 0) -> dict:
    """The FactorVAE score of an encoder: how reliably the factor held fixed in a batch
    can be read off the latent dimension that varies least in it.

    ``encode(images)`` returns codes ``(n, d)``; ``sample_images(n, rng, fixed_factor)``
    returns ``n`` images, all sharing one random value of factor ``fixed_factor``
    (or with all factors free when it is None): ``keras_models.data.shapes.sample_images``
    is one. Dimensions are scaled by their spread over ``num_variance_estimate``
    free images and those with a standard deviation under 0.05 are ignored; a
    majority-vote classifier from dimension to factor is fitted on ``num_train``
    batches of ``batch_size`` and scored on ``num_eval`` more (disentanglement_lib
    uses 10,000 and 5,000 votes; these defaults keep it to about 77,000 encoded images).

    It asks only that each factor have a dimension of its own that it moves
    most, not that the dimension move for nothing else, so a rotated code can
    still score high where MIG and DCI fall: report it beside them.

    Returns ``score`` (the held-out accuracy, also ``eval_accuracy``; 1 is
    perfect, 1/k is chance), ``train_accuracy``, ``num_active_dims`` and
    ``dim_to_factor`` (d,; the factor each dimension votes for, −1 if inactive).
    """
    def sample_codes(rng: np.random.Generator, fixed_factor: int | None, n: int) -> np.ndarray:
        return np.asarray(encode(sample_images(n, rng, fixed_factor)), dtype="float64")

    return _factor_vae(sample_codes, num_factors, batch_size, num_train, num_eval, num_variance_estimate, seed)


def factor_vae_score_from_codes(codes: np.ndarray, factors: np.ndarray, batch_size: int = 64,
                                num_train: int = 800, num_eval: int = 400, num_variance_estimate: int = 10000,
                                seed: int = 0) -> dict:
    """``factor_vae_score`` from the codes of a labelled set: each batch with factor i fixed
    draws rows sharing the value of factor i of a random row (so values come as
    often as they do in the set). The set should cover the factors' combinations
    well, e.g. a large random sample of the grid; results as ``factor_vae_score``."""
    codes, factors = _check_codes_and_factors(codes, factors)
    # For each factor, the rows of each value, to draw fixed-value batches quickly.
    groups = []
    for column in factors.T:
        order = np.argsort(column, kind="stable")
        groups.append(np.split(order, np.flatnonzero(np.diff(column[order])) + 1))

    def sample_codes(rng: np.random.Generator, fixed_factor: int | None, n: int) -> np.ndarray:
        if fixed_factor is None:
            return codes[rng.choice(len(codes), min(n, len(codes)), replace=False)]
        rows = groups[fixed_factor][factors[rng.integers(len(codes)), fixed_factor]]
        return codes[rng.choice(rows, n, replace=len(rows) < n)]

    return _factor_vae(sample_codes, factors.shape[1], batch_size, num_train, num_eval, num_variance_estimate, seed)
