"""Progress bars on the terminal for the ``StageProgress`` events of a job (tqdm).

The command line hands ``TerminalProgress`` to a ``JobState`` as (part of) its event
handler; the window shows the same events in its status bar instead.
"""
from __future__ import annotations

import sys
import weakref
from typing import Any, Callable, TextIO

from tqdm import tqdm

from keras_models.events import StageProgress, TrainingSized


# Every TerminalProgress alive, so that an error or Ctrl-C can end a bar left half-drawn.
_ALIVE: "weakref.WeakSet[TerminalProgress]" = weakref.WeakSet()


def close_all() -> None:
    """End every bar still drawn, so the next line printed starts on a line of its own rather
    than after the bar's last update."""
    for progress in list(_ALIVE):
        progress.close()


class TerminalProgress:
    """One tqdm bar per step: a step's bar is closed when it reaches its total or when
    another step reports. Other events are ignored."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._bar: Any = None
        self._stage: str | None = None
        _ALIVE.add(self)

    def __call__(self, event: object) -> None:
        if not isinstance(event, StageProgress):
            return
        if event.stage != self._stage or self._bar is None:
            self.close()
            self._stage = event.stage
            self._bar = tqdm(total=event.total, desc=event.stage, file=self.stream or sys.stderr,
                             leave=True, dynamic_ncols=True, mininterval=0.5)
        if event.done > self._bar.n:
            self._bar.update(event.done - self._bar.n)
        if event.done >= event.total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar, self._stage = None, None


def terminal_events(then: Callable[[Any], None] | None = None) -> Callable[[Any], None]:
    """A command's event handler: progress bars for the long steps, one line for the batch size
    and epochs auto chose, then ``then`` (a command's own printer) for every event."""
    bars = TerminalProgress()

    def show(event: Any) -> None:
        if isinstance(event, TrainingSized):
            print(f"sized to the data: {event.reason} (-bs and -e choose them)", flush=True)
        bars(event)
        if then is not None:
            then(event)
    return show
