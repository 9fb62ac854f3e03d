"""Whose computation runs next in `handprop serve`: one at a time, first come first served, and a page's
newer edit replaces its older ones still waiting.

The worker computes one request at a time, and a large problem can keep it busy up to the time limit.
Without this, every edit typed meanwhile would wait for all those before it. Each solve from the page
names the page (an id it draws when it loads); when a newer solve from the same page arrives, its
older ones that have not started are dropped at once (`Superseded`), so the newest edit is the next
to run. The one already running is left to finish: stopping it would cost a new worker's start.
"""

from __future__ import annotations

import itertools
import threading
from contextlib import contextmanager


class Superseded(Exception):
    """The request waited for its turn until a newer one from the same page replaced it."""


class Turns:
    """The queue in front of the worker.

    >>> turns = Turns()
    >>> with turns.turn("page-1"):
    ...     turns.running, turns.waiting
    (True, 0)
    """

    def __init__(self):
        self._changed = threading.Condition()
        self._queue: list[int] = []  # the waiting tickets, in arrival order
        self._newest: dict[str, int] = {}  # a page's newest ticket, while it waits or runs
        self._tickets = itertools.count()
        self.running = False

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._queue)

    @contextmanager
    def turn(self, page: str | None = None):
        """Wait for the worker, then hold it; raises Superseded when a newer request from `page` arrives first."""
        with self._changed:
            ticket = next(self._tickets)
            if page is not None:
                self._newest[page] = ticket
                self._changed.notify_all()  # an older one of this page, waiting, leaves the queue
            self._queue.append(ticket)
            while page is None or self._newest.get(page) == ticket:
                if not self.running and self._queue[0] == ticket:
                    break
                self._changed.wait()
            else:
                self._queue.remove(ticket)
                self._changed.notify_all()  # the next in line may be free to start
                raise Superseded
            self._queue.pop(0)
            self.running = True
        try:
            yield
        finally:
            with self._changed:
                self.running = False
                if page is not None and self._newest.get(page) == ticket:
                    del self._newest[page]
                self._changed.notify_all()
