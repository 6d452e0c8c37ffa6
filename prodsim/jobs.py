"""Long work in background threads: progress with time left, a cancel that keeps finished work.

A :class:`JobRunner` (one per server process) runs each job in its own thread, keyed by what
it works on, so a browser that changes page, reloads or closes does not stop the work, a
second visitor sees the same job instead of starting another, and any page can show it.
The work itself is an ordinary library call taking ``progress`` and ``should_stop``; what it
finishes is kept on disk by that call, so a cancelled or failed job loses only its last step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prodsim import access
from prodsim.errors import Cancelled, ProdsimError, log_unexpected
from prodsim.progress import ProgressState, ProgressTracker

Work = Callable[[Callable[[str, int, int], None], Callable[[], bool]], object]


@dataclass
class JobState:
    """What a job is doing, for a progress line."""

    status: str = "running"  # running, done, cancelled, failed
    progress: ProgressState | None = None
    message: str = ""  # the outcome, for people
    started: float = field(default_factory=time.time)
    finished: float | None = None

    @property
    def running(self) -> bool:
        """True until the work returned, was cancelled or failed."""
        return self.status == "running"

    def text(self) -> str:
        """E.g. 'Reading product texts: 1,200 of 5,000 · 850/s · 5 s left'."""
        if self.progress is None:
            return "Starting…"
        return self.progress.text()


class Job:
    """One piece of background work; see :class:`JobRunner`."""

    def __init__(self, key: str, label: str, work: Work, resume: tuple[str, Work] | None = None):
        self.key, self.label = key, label
        self.resume = resume or (label, work)  # what Continue runs after a cancel or a failure: (label, work)
        self.state = JobState()
        self.result = None
        self._stop = threading.Event()
        self.person = access.current()  # the work acts, and is recorded, as whoever started it
        self._thread = threading.Thread(target=self._run, args=(work,), name=f"job-{label}", daemon=True)

    def start(self) -> Job:
        """Starts the thread; returns self."""
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Asks the work to stop at its next check (between batches or stages)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> JobState:
        """Blocks until the job ends (or ``timeout`` seconds pass); returns its state."""
        self._thread.join(timeout)
        return self.state

    def _progress(self, state: ProgressState) -> None:
        self.state.progress = state

    def _run(self, work: Work) -> None:
        try:
            with access.acting_as(self.person):
                self.result = work(ProgressTracker(self._progress), self._stop.is_set)
        except Cancelled as stop:
            self.state.status, self.state.message = "cancelled", str(stop)
        except ProdsimError as err:
            self.state.status, self.state.message = "failed", str(err)
        except Exception:  # a job must never die silently: the log keeps the trace, people get a reference
            self.state.status = "failed"
            self.state.message = log_unexpected(f"job {self.label}") + " Finished steps are kept."
        else:
            self.state.status = "done"
        finally:
            self.state.finished = time.time()


class JobRunner:
    """The jobs of one process, by key (e.g. ``"prepare:<workspace folder>"``)."""

    def __init__(self):
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, key: str, label: str, work: Work, resume: tuple[str, Work] | None = None) -> Job:
        """Starts ``work`` unless a job with this key is still running (that one is returned then).

        Args:
            resume: (label, work) that continues it after a cancel or a failure (default: the same work again; the
                work keeps its finished steps). An update, say, continues by reading, not by updating twice.
        """
        with self._lock:
            current = self._jobs.get(key)
            if current is not None and current.state.running:
                return current
            self._jobs[key] = job = Job(key, label, work, resume)
        return job.start()

    def resume(self, key: str) -> Job | None:
        """Continues the ended job with this key (see ``resume`` of :meth:`start`); None when there is none."""
        job = self._jobs.get(key)
        return None if job is None else self.start(key, *job.resume, resume=job.resume)

    def get(self, key: str) -> Job | None:
        """The latest job with this key (running or ended), or None."""
        return self._jobs.get(key)

    def wait_all(self, timeout: float | None = None) -> None:
        """Blocks until every job that is running now has ended (tests and shutdown)."""
        for job in list(self._jobs.values()):
            job.wait(timeout)

    def forget(self, key: str) -> None:
        """Drops an ended job, so its outcome is no longer shown."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not job.state.running:
                del self._jobs[key]


_RUNNER = JobRunner()


def runner() -> JobRunner:
    """The jobs of this process (a server's browser sessions share it)."""
    return _RUNNER
