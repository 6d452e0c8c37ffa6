"""Progress with speed and time left, for the app's progress bars and the CLI."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class ProgressState:
    """One progress update."""

    stage: str
    done: int
    total: int
    rate: float  # items per second
    eta_seconds: float | None

    @property
    def fraction(self) -> float:
        """Share done, 0-1."""
        return self.done / self.total if self.total else 1.0

    def text(self) -> str:
        """E.g. 'Embedding text: 1,200 of 5,000 · 850/s · 5 s left'."""
        eta = "" if self.eta_seconds is None else f" · {format_seconds(self.eta_seconds)} left"
        rate = f"{self.rate:,.0f}/s" if self.rate >= 10 else f"{self.rate:.2g}/s"
        return f"{self.stage}: {self.done:,} of {self.total:,} · {rate}{eta}"


def format_seconds(seconds: float) -> str:
    """'42 s', '3 min 5 s'."""
    seconds = max(0, round(seconds))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60} s"


class ProgressTracker:
    """Turns (stage, done, total) calls into :class:`ProgressState` for a callback."""

    def __init__(self, callback: Callable[[ProgressState], None]):
        self.callback = callback
        self._stage, self._start = None, 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self._stage, self._start = stage, time.perf_counter()
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 and done else None
        self.callback(ProgressState(stage, done, total, rate, eta))


def stderr_progress() -> ProgressTracker:
    """A tracker that rewrites one status line on stderr (the CLI keeps stdout for JSON)."""
    def show(state: ProgressState) -> None:
        end = "\n" if state.done >= state.total else ""
        print(f"\r{state.text()}   ", end=end, file=sys.stderr, flush=True)
    return ProgressTracker(show)
