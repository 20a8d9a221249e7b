"""Numbers over seeds: mean ± sd cells, the significance rule, and what the figures draw per seed."""
import math

import pytest

from keras_models.study.figures import metrics_vs_beta_figure, rate_distortion_figure
from keras_models.study.stats import (Spread, direction, family, format_n, format_spread, group_rows,
                                      rate_distortion_points, summary_table, welch_p)
from tests.helpers import seeded_rows, study_row


@pytest.mark.parametrize("values, key, latent, text", [
    ((1.0, 2.0, 3.0), "kl", None, "2.00 ± 1.00"),
    ((3, 4, 4), "active_units", 10, "3.7 ± 0.6 / 10"),
    ((7,), "active_units", 10, "7 / 10"),
    ((0.90, 0.92, 0.94), "class_accuracy", None, "92.0 ± 2.0%"),
    ((0.2, 0.4), "mig", None, "0.300 ± 0.141"),
    ((12.344,), "iwae_nll", None, "12.34"),
])
def test_cells_give_mean_and_sample_standard_deviation(values, key, latent, text):
    assert format_spread(Spread(values), key, latent) == text


def test_a_number_no_trial_has_is_a_dash_and_n_counts_what_did_not_finish():
    assert format_spread(None, "mig") == "–"
    rows = seeded_rows("vae", 1.0, offsets=(0.0, 1.0))
    (group,) = group_rows(rows, [{**rows[0], "key": "vae_s2", "seed": 2, "status": "failed"}])
    assert group.n == 2 and format_n(group) == "2 (1 did not finish)"
    assert Spread((5.0,)).sd is None and Spread((1.0, 3.0)).sd == pytest.approx(math.sqrt(2))


def test_welchs_test_on_known_values():
    # Means 2 and 5, sd 1 each, n = 3: t = 3 / sqrt(2/3) = 3.674 on 4 degrees of freedom, p = 0.0213.
    low, high = Spread((1.0, 2.0, 3.0)), Spread((4.0, 5.0, 6.0))
    assert welch_p(low, high) == pytest.approx(0.02131, abs=1e-4)
    assert direction(low, high) == "rose" and direction(high, low) == "fell"


def test_overlapping_seeds_are_no_measurable_difference():
    assert direction(Spread((1.0, 2.0, 3.0)), Spread((1.5, 2.5, 3.5))) == "no measurable difference at n = 3"
    assert direction(Spread((1.0, 2.0, 3.0)), Spread((1.5, 2.5))) == "no measurable difference at n = 3 and 2"


def test_one_seed_allows_no_claim_and_identical_seeds_any_difference():
    assert welch_p(Spread((1.0,)), Spread((5.0, 6.0))) is None
    assert direction(Spread((1.0,)), Spread((5.0, 6.0))) == "no claim"
    assert direction(Spread((2.0, 2.0)), Spread((3.0, 3.0))) == "rose"
    assert direction(Spread((2.0, 2.0)), Spread((2.0, 2.0))) == "no measurable difference at n = 2"


def test_the_table_has_one_row_per_model_kind_with_n():
    rows = seeded_rows("bvae", 4.0, kl=2.0) + seeded_rows("vae", 1.0, kl=10.0, offsets=(0.0, 2.0))
    headers, cells = summary_table(rows)
    assert headers[:3] == ["model", "β", "n"] and headers[headers.index("KL")] == "KL"
    assert [c[:3] for c in cells] == [["β-VAE (β = 4)", "4", "3"], ["VAE (β = 1)", "1", "2"]]
    assert cells[0][headers.index("KL")] == "3.00 ± 1.00" and cells[1][headers.index("KL")] == "11.00 ± 1.41"
    assert [g.beta for g in family(group_rows(rows))] == [1.0, 4.0]  # the family in order of β


def test_the_rate_distortion_plane_has_every_seed_and_the_mean_per_beta():
    rows = (seeded_rows("vae", 1.0, rec=100.0, kl=10.0) + seeded_rows("bvae", 4.0, rec=130.0, kl=3.0)
            + [study_row("cvae", 1.0, rec=95.0, kl=11.0)])
    data = rate_distortion_points(group_rows(rows))
    assert [(p["group"], p["seed"], p["kl"], p["rec"]) for p in data["points"]] == [
        ("vae", 0, 10.0, 100.0), ("vae", 1, 11.0, 101.0), ("vae", 2, 12.0, 102.0),
        ("bvae_b4", 0, 3.0, 130.0), ("bvae_b4", 1, 4.0, 131.0), ("bvae_b4", 2, 5.0, 132.0), ("cvae", 0, 11.0, 95.0)]
    assert [(m["group"], m["n"], m["kl"], m["rec"]) for m in data["means"]] == [
        ("vae", 3, 11.0, 101.0), ("bvae_b4", 3, 4.0, 131.0), ("cvae", 1, 11.0, 95.0)]
    ax = rate_distortion_figure(data).axes[0]
    seeds = [tuple(line.get_xydata()[0]) for line in ax.lines if line.get_markersize() == 4]
    means = [tuple(line.get_xydata()[0]) for line in ax.lines if line.get_markersize() == 9]
    assert seeds == [(p["kl"], p["rec"]) for p in data["points"]]
    assert means == [(11.0, 101.0), (4.0, 131.0), (11.0, 95.0)]


def test_numbers_against_beta_show_the_mean_with_one_sd_error_bars():
    rows = seeded_rows("vae", 1.0, nll=120.0) + seeded_rows("bvae", 4.0, nll=130.0, offsets=(0.0, 4.0))
    ax = metrics_vs_beta_figure(family(group_rows(rows)), ("iwae_nll",)).axes[0]
    (bars,) = ax.containers
    assert list(bars.lines[0].get_ydata()) == [121.0, 132.0]
    (segments,) = bars.lines[2]
    low_high = [tuple(seg[:, 1]) for seg in segments.get_segments()]
    assert low_high == pytest.approx([(120.0, 122.0), (132.0 - 2 * math.sqrt(2), 132.0 + 2 * math.sqrt(2))])
