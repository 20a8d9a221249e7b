"""A study's scheduled groups in its table, figures and conclusions (rows made by hand, no training)."""
from keras_models.study.conclusions import conclusions
from keras_models.study.figures import rate_distortion_figure
from keras_models.study.stats import family, group_rows, rate_distortion_points, summary_table
from tests.helpers import seeded_rows


def capacity_rows(units, kl=25.0):
    rows = seeded_rows("bvae", 1.0, units=units, kl=kl)
    for r in rows:
        r.update(group="capacity25", key=f"capacity25_s{r['seed']}", schedule="capacity",
                 title="capacity-controlled β-VAE (C_max 25)")
    return rows


def test_a_scheduled_group_is_a_row_of_the_table_but_not_of_the_beta_family():
    rows = seeded_rows("vae", 1.0, units=6) + seeded_rows("bvae", 4.0, units=3) + capacity_rows(9)
    groups = group_rows(rows)
    assert [g.group for g in groups] == ["vae", "bvae_b4", "capacity25"]
    assert [g.group for g in family(groups)] == ["vae", "bvae_b4"]
    headers, table = summary_table(rows)
    assert [line[0] for line in table] == ["VAE (β = 1)", "β-VAE (β = 4)", "capacity-controlled β-VAE (C_max 25)"]


def test_conclusions_compare_a_scheduled_group_with_the_fixed_weight_model_of_its_beta():
    # Active units 6, 7, 8 at a fixed β = 1 against 9, 10, 11 under capacity control: Welch's p = 0.021.
    rows = seeded_rows("vae", 1.0, units=6.0) + seeded_rows("bvae", 4.0, units=3.0) + capacity_rows(9.0, kl=30.0)
    lines = conclusions(rows)
    line = next(l for l in lines if l.startswith("capacity-controlled β-VAE (C_max 25) against"))
    assert "(VAE (β = 1))" in line
    assert "active units 10.0 ± 1.0 against 7.0 ± 1.0, rose (p = 0.021)" in line
    assert "KL 31.00 ± 1.00 against 20.00 ± 0.00, rose (p = 0.003)" in line
    assert "IWAE NLL 115.00 ± 0.00 against 115.00 ± 0.00, no measurable difference at n = 3" in line
    # The β trends still run from the smallest to the largest fixed β only.
    assert any(l.startswith("From β = 1 to β = 4, the number of active units fell") for l in lines)


def test_the_rate_distortion_plane_joins_only_the_beta_family_and_marks_scheduled_groups_apart():
    rows = seeded_rows("vae", 1.0, kl=20.0) + seeded_rows("bvae", 4.0, kl=8.0) + capacity_rows(9, kl=25.0)
    figure = rate_distortion_figure(rate_distortion_points(group_rows(rows)))
    ax = figure.axes[0]
    joined = [line for line in ax.get_lines() if line.get_linestyle() == "-" and len(line.get_xdata()) > 1]
    assert len(joined) == 1 and sorted(joined[0].get_xdata()) == [9.0, 21.0]  # the means of β = 4 and 1
    diamonds = [line for line in ax.get_lines() if line.get_marker() == "D"]
    assert [list(line.get_xdata()) for line in diamonds] == [[26.0]]
    assert "β = " not in " ".join(t.get_text() for t in ax.texts if t.xy == (26.0, diamonds[0].get_ydata()[0]))


def test_a_scheduled_trial_keeps_its_schedule_through_the_study_ledger(tmp_path):
    from keras_models.config import TrainConfig
    from keras_models.schedules import schedule_of
    from keras_models.study.config import StudyConfig
    from keras_models.study.ledger import StudyState, entry_of, trial_summary

    config = StudyConfig(training=TrainConfig(epochs=4), betas=(4.0,), include_cvae=False, capacity=25.0,
                         kl_cycles=2).validate()
    state = StudyState.start(config, tmp_path)
    pending = {e["key"]: e for e in state.unfinished()}
    assert pending["capacity25_s0"]["schedule"] == "capacity" and "schedule" not in pending["bvae_b4_s0"]
    trained = {key: schedule_of(config.train_config(entry).validate()) for key, entry in pending.items()}
    assert trained["bvae_b4_s0"] is None
    assert (trained["cycles2_b4_s0"].kind, trained["cycles2_b4_s0"].beta) == ("cycles", 4.0)
    assert (trained["capacity25_s0"].kind, trained["capacity25_s0"].capacity) == ("capacity", 25.0)
    assert trial_summary(state.trials[-1], tmp_path)["schedule"] == "capacity"
    # A trial listed by a study.json from before schedules has no such key, and stays without one.
    assert entry_of({"key": "vae_s0", "group": "vae", "model": "vae", "beta": 1.0, "seed": 0, "title": "VAE"}) == \
        {"key": "vae_s0", "group": "vae", "model": "vae", "beta": 1.0, "seed": 0, "title": "VAE"}


def test_the_kl_bars_wrap_the_long_titles_of_scheduled_groups():
    import numpy as np

    from keras_models.study.figures import kl_bars_figure

    rows = seeded_rows("vae", 1.0, offsets=(0.0,), units=3) + capacity_rows(4)[:1]
    groups = group_rows(rows)
    figure = kl_bars_figure(groups, {r["key"]: np.arange(10.0) for r in rows})
    titles = [ax.get_title() for ax in figure.axes]
    assert titles[0] == "VAE (β = 1): 3 of 10 active units"
    assert titles[1] == "capacity-controlled β-VAE (C_max 25): 4 of 10\nactive units"


def test_a_scheduled_group_without_its_fixed_weight_model_says_why_it_is_not_compared():
    # --capacity trains at β = 1: a study of --betas 4 only has nothing to hold it against.
    lines = conclusions(seeded_rows("bvae", 4.0, units=3.0) + capacity_rows(9.0))
    line = next(l for l in lines if l.startswith("capacity-controlled β-VAE (C_max 25)"))
    assert "not compared" in line and "add 1 to --betas" in line
