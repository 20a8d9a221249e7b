"""Matplotlib canvases that stay responsive while training keeps both cores busy.

A full matplotlib draw (frame, grid, ticks and their text) takes about 10 ms
on an idle core and 25-80 ms while training runs, all of it holding the GIL.
On the GUI thread that alone can freeze the window for longer than 50 ms. So a
live canvas splits its picture in two:

- the data artists (lines, bars) are animated: redrawn over a cached backdrop
  and blitted, about 2 ms;
- the backdrop changes only with the axis limits. A twin figure with the same
  axes renders it on a background thread, and the GUI thread copies the pixels
  in when they arrive. Meanwhile the GUI thread typically gets the GIL back
  within ``sys.getswitchinterval()`` (5 ms) of asking for it.

Only a resize (or a failed background render) still draws in full on the GUI
thread.
"""
from __future__ import annotations

import traceback
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PyQt6 import sip
from PyQt6.QtCore import QCoreApplication, QObject, pyqtSignal, pyqtSlot

Limits = tuple[tuple[float, float], tuple[float, float]]

# One thread for every canvas: backdrops are rare, and a second thread would only take CPU from training.
_backdrop_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plot-backdrops")


class _Relay(QObject):
    """Carries finished backdrops to the GUI thread.

    It lives as long as the program, so the backdrop thread never emits a
    signal of a canvas that the GUI thread may be deleting at that moment.
    """

    finished = pyqtSignal(object, object, object)  # weak reference to the canvas, job, pixels

    @pyqtSlot(object, object, object)
    def deliver(self, canvas_ref, job, result) -> None:
        canvas = canvas_ref()
        if canvas is not None and not sip.isdeleted(canvas):
            canvas._show_backdrop(job, result)


_relay: _Relay | None = None


def _render_backdrop(twin: Figure, ax: Axes, job: tuple, canvas_ref: weakref.ref) -> None:
    """Runs on the backdrop thread; touches nothing but the twin figure."""
    (xlim, ylim), dpi, size = job
    try:
        twin.set_dpi(dpi)
        twin.set_size_inches(size, forward=False)
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        twin.canvas.draw()
        result = twin.canvas.copy_from_bbox(twin.bbox)
    except Exception as exc:  # noqa: BLE001 (the GUI thread draws the backdrop itself instead)
        traceback.print_exception(exc)
        result = exc
    _relay.finished.emit(canvas_ref, job, result)


def _stop_backdrop_thread() -> None:
    _backdrop_thread.shutdown(wait=False, cancel_futures=True)


def _make_axes(figure: Figure, style_axes: Callable[[Axes], None]) -> Axes:
    figure.subplots_adjust(left=0.16, right=0.97, bottom=0.1, top=0.97)
    ax = figure.add_subplot(1, 1, 1)
    style_axes(ax)
    ax.set_autoscale_on(False)  # every limit is chosen by the owner, identically on both figures
    return ax


class LiveCanvas(FigureCanvasQTAgg):
    """A one-axes canvas whose limits change without a full draw on the GUI thread.

    ``style_axes(ax)`` is applied to the shown axes and to their twin alike,
    so the two lay out the same pixels.
    """

    backdrop_ready = pyqtSignal()  # new limits are on screen

    def __init__(self, style_axes: Callable[[Axes], None], figsize: tuple[float, float]) -> None:
        super().__init__(Figure(figsize=figsize))
        self.ax = _make_axes(self.figure, style_axes)
        self._style_axes = style_axes
        self._twin: tuple[Figure, Axes] | None = None  # made when first needed: start-up stays quick
        self.data_artists: list[Artist] = []
        self._background = None
        self._target: Limits = self.limits()
        self._rendering = False
        self.mpl_connect("draw_event", self._on_full_draw)
        global _relay
        if _relay is None:  # made on the GUI thread, like the first canvas
            _relay = _Relay()
            _relay.finished.connect(_relay.deliver)
            app = QCoreApplication.instance()
            if app is not None:  # renders still queued at exit would only draw for a closed window
                app.aboutToQuit.connect(_stop_backdrop_thread)
        self.setMinimumHeight(150)

    def limits(self) -> Limits:
        """The limits drawn now."""
        return tuple(self.ax.get_xlim()), tuple(self.ax.get_ylim())

    @property
    def target_limits(self) -> Limits:
        """The limits asked for last: drawn now, or as soon as their backdrop is ready."""
        return self._target

    def set_data_artists(self, artists: Iterable[Artist]) -> None:
        self.data_artists = list(artists)
        for artist in self.data_artists:
            artist.set_animated(True)  # left out of the backdrop, drawn by _blit_data

    def refresh(self, limits: Limits | None = None) -> None:
        """Show the data artists now; new limits follow once their backdrop is drawn."""
        self.aim(limits)
        self.show_data()

    def aim(self, limits: Limits | None) -> None:
        """Ask for new limits: applied at once if nothing is drawn yet, else when their backdrop is ready."""
        if limits is None or limits == self._target:
            return
        self._target = limits
        if self._background is None:
            self._apply(limits)  # the next full draw (first paint, resize) uses them
        else:
            self._request_backdrop()

    def show_data(self) -> None:
        """Blit the data artists' current state onto the backdrop."""
        if self._background is not None:
            self.restore_region(self._background)
            self._blit_data()

    def _apply(self, limits: Limits) -> None:
        xlim, ylim = limits
        self.ax.set_xlim(xlim)
        self.ax.set_ylim(ylim)

    def _request_backdrop(self) -> None:
        if self._rendering:
            return  # one at a time per canvas: the reply asks again if the target moved on
        self._rendering = True
        if self._twin is None:
            twin = Figure(figsize=self.figure.get_size_inches())
            FigureCanvasAgg(twin)
            self._twin = twin, _make_axes(twin, self._style_axes)
        job = (self._target, self.figure.dpi, tuple(self.figure.get_size_inches()))
        try:
            _backdrop_thread.submit(_render_backdrop, *self._twin, job, weakref.ref(self))
        except RuntimeError:  # the application is quitting: no more backdrops
            self._rendering = False

    def _show_backdrop(self, job: tuple, result) -> None:
        limits, dpi, size = job
        self._rendering = False
        if self._background is None or isinstance(result, Exception):
            # Not drawn yet (a resize's full draw is on its way), or the render failed: draw here.
            self._apply(self._target)
            if self._background is not None:
                self.draw()
            self.backdrop_ready.emit()
            return
        if dpi == self.figure.dpi and size == tuple(self.figure.get_size_inches()):
            self._apply(limits)
            self._background = result
            self.show_data()
        if self.limits() != self._target:
            self._request_backdrop()
        else:
            self.backdrop_ready.emit()

    def _on_full_draw(self, _event) -> None:
        self._background = self.copy_from_bbox(self.figure.bbox)
        self._blit_data()

    def _blit_data(self) -> None:
        for artist in self.data_artists:
            self.ax.draw_artist(artist)
        self.blit(self.figure.bbox)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self._background = None  # the cached backdrop has the old size; Qt's resize draws a new one
        super().resizeEvent(event)
