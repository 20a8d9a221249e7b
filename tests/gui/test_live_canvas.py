"""Live plots: new axis limits are drawn off the GUI thread and look exactly like a full draw."""
import threading

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from gui.kl_bars import KLBars, kl_limits
from gui.loss_plot import LossPlot


def shown(qtbot, widget, canvas, size=(900, 320)):
    """Show ``widget`` and wait for ``canvas`` to be drawn the first time (the slow way, as on start-up)."""
    drawn = []
    canvas.mpl_connect("draw_event", drawn.append)
    qtbot.addWidget(widget)
    widget.setFixedSize(*size)  # no later layout resize, which would draw in full again
    widget.show()
    qtbot.waitUntil(lambda: bool(drawn))
    return widget


def pixels(canvas) -> np.ndarray:
    return np.asarray(canvas.buffer_rgba()).copy()


def history(epochs: int, start: float) -> list[dict[str, float]]:
    return [dict(epoch=e, rec=start - 10 * e, kl=5 + e, nelbo=start + 5 - 9 * e, loss=start + 5 - 9 * e,
                 val_rec=start + 3 - 10 * e, val_kl=5 + e, val_nelbo=start + 8 - 9 * e, val_loss=start + 8 - 9 * e)
            for e in range(1, epochs + 1)]


def test_new_limits_arrive_from_the_backdrop_thread_identical_to_a_full_draw(qtbot):
    plot = LossPlot(on_error=print)
    canvas = plot.canvases["rec"]
    shown(qtbot, plot, canvas)
    full_draws = []
    canvas.mpl_connect("draw_event", full_draws.append)

    with qtbot.waitSignal(canvas.backdrop_ready, timeout=10_000):
        plot.set_history(history(5, start=300.0), total_epochs=10)
        # Until the backdrop is drawn, the lines are blitted on the old axes.
        assert canvas.limits() != canvas.target_limits
    assert canvas.limits() == canvas.target_limits
    assert canvas.limits()[0] == (0.0, 10.0)
    low, high = canvas.limits()[1]
    assert low < 250 and high > 293  # the lowest train and the highest validation point are inside
    assert full_draws == []  # the GUI thread never drew the axes itself

    live = pixels(canvas)
    canvas.draw()  # the slow way, on this thread
    assert full_draws, "the comparison needs a real full draw"
    np.testing.assert_array_equal(live, pixels(canvas))


def test_a_loss_that_keeps_falling_inside_its_margin_needs_no_new_backdrop(qtbot):
    plot = LossPlot(on_error=print)
    canvas = plot.canvases["rec"]
    shown(qtbot, plot, canvas)
    with qtbot.waitSignal(canvas.backdrop_ready, timeout=10_000):
        plot.set_history(history(3, start=300.0), total_epochs=10)
    limits = canvas.limits()
    with qtbot.assertNotEmitted(canvas.backdrop_ready, wait=300):
        # The limits are 263-300 (30% room either side): 266 and 268 still fit.
        plot.add_epoch(dict(history(3, start=300.0)[-1], epoch=4, rec=266.0, val_rec=268.0))
    assert canvas.limits() == limits
    assert list(canvas.lines["rec"].get_xdata()) == [1, 2, 3, 4]


def test_a_failed_background_render_is_drawn_on_the_gui_thread_instead(qtbot, monkeypatch):
    plot = LossPlot(on_error=print)
    canvas = plot.canvases["rec"]
    shown(qtbot, plot, canvas)
    agg_draw = FigureCanvasAgg.draw

    def draw_fails_off_the_gui_thread(self):
        if threading.current_thread() is not threading.main_thread():
            raise MemoryError("no memory for the backdrop")
        agg_draw(self)

    monkeypatch.setattr(FigureCanvasAgg, "draw", draw_fails_off_the_gui_thread)
    with qtbot.waitSignal(canvas.backdrop_ready, timeout=10_000):
        plot.set_history(history(5, start=300.0), total_epochs=10)
    assert canvas.limits() == canvas.target_limits and canvas.limits()[0] == (0.0, 10.0)
    live = pixels(canvas)
    canvas.draw()
    np.testing.assert_array_equal(live, pixels(canvas))


def test_a_resize_while_the_backdrop_is_drawn_ends_like_a_plot_drawn_at_the_new_size(qtbot):
    plot = LossPlot(on_error=print)
    canvas = plot.canvases["rec"]
    shown(qtbot, plot, canvas)
    plot.set_history(history(5, start=300.0), total_epochs=10)
    plot.setFixedSize(1100, 400)  # the backdrop on its way has the old size

    reference = LossPlot(on_error=print)
    shown(qtbot, reference, reference.canvases["rec"], size=(1100, 400))
    with qtbot.waitSignal(reference.canvases["rec"].backdrop_ready, timeout=10_000):
        reference.set_history(history(5, start=300.0), total_epochs=10)
    qtbot.waitUntil(lambda: np.array_equal(pixels(canvas), pixels(reference.canvases["rec"])), timeout=10_000)
    assert canvas.limits() == canvas.target_limits and canvas.limits()[0] == (0.0, 10.0)


def test_kl_bars_follow_the_values_and_keep_their_scale_while_it_fits(qtbot):
    bars = KLBars(on_error=print)
    shown(qtbot, bars, bars.canvas)
    assert not bars.save_button.isEnabled()
    with qtbot.waitSignal(bars.canvas.backdrop_ready, timeout=10_000):
        bars.set_values(np.array([2.0, 0.5, 0.0, 1.0]), active_units=3)
    top = bars.canvas.limits()[1][1]
    assert top == pytest.approx(2.6)
    with qtbot.assertNotEmitted(bars.canvas.backdrop_ready, wait=300):
        bars.set_values(np.array([1.5, 0.7, 0.0, 1.2]), active_units=3)
    assert [bar.get_height() for bar in bars.canvas.bars] == [1.5, 0.7, 0.0, 1.2]
    assert bars.save_button.isEnabled()


def test_kl_limits_grow_past_the_top_and_shrink_when_far_below_it():
    values = np.array([1.0, 3.0, np.nan])
    assert kl_limits(values, top=2.0) == ((-0.6, 2.6), (0.0, pytest.approx(3.9)))
    assert kl_limits(values, top=5.0) == ((-0.6, 2.6), (0.0, 5.0))
    assert kl_limits(values, top=10.0)[1] == (0.0, pytest.approx(3.9))
    assert kl_limits(np.zeros(4), top=1.0)[1] == (0.0, 0.05)  # collapsed: a small axis, not a zero-height one


def test_saved_kl_chart_is_a_readable_png(qtbot, tmp_path):
    from PIL import Image

    bars = KLBars(on_error=print)
    with pytest.raises(ValueError, match="nothing to save"):
        bars.save_to(tmp_path / "empty.png")
    bars.set_values(np.array([2.0, 0.5, 0.0, 1.0]), active_units=3)
    path = bars.save_to(tmp_path / "kl.png")
    with Image.open(path) as image:
        assert image.size == (576, 384)
        assert len(set(image.convert("L").getdata())) > 2
