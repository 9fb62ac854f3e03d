"""The time limit of `handprop serve`: each computation runs in a worker process that can be stopped.

A Python thread cannot be stopped from outside, so the app hands every solve, step and download to one
worker process and waits at most `time_limit` seconds for the answer. A worker that takes longer is
killed and a new one started; the request is answered with a one-line error, and the server goes on.
The worker is a fresh interpreter (`python -m handprop.serve.worker`: forking a threaded server is unsafe)
that talks JSON lines over its standard input and output, imports what a solve needs at once, and keeps
its caches (the formulas' MathML) between requests. Its address space is capped at `memory_limit` MB
(RLIMIT_AS, where the system has it): a computation that needs more meets MemoryError, is answered with
a one-line error, and the worker is replaced, its memory returned.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import traceback

from ..core.errors import HandpropError

DEFAULT_TIME_LIMIT = 10.0  # seconds: the homework takes about 0.06; a 1,000-parameter page about 2
DEFAULT_MEMORY_LIMIT = 2048  # MB: the homework needs about 32; a 90,000-parameter page about 400 in its first seconds
STARTUP_LIMIT = 60.0  # seconds for a new worker's imports, on a busy machine


def _tasks() -> dict:
    from ..problem.files import example_path
    from .tasks import TASKS

    # Work the homework out once now, so the first request finds the imports done and the caches filled.
    TASKS["solve"]({"text": example_path("homework").read_text(encoding="utf-8")})
    return TASKS


def cap_memory(megabytes: int | None) -> None:
    """Cap this process's address space, where the system can (not on Windows; macOS may refuse)."""
    try:
        import resource
    except ImportError:
        return
    if megabytes is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass


def main() -> None:
    """The worker: one JSON request per line in, one JSON answer per line out, until its input ends.

    An answer is ["ok", value], ["error", [file, where, what, expected]], ["memory", None] or
    ["internal", traceback]. Standard output carries only the answers: anything else printed goes to
    standard error. Its one argument, when given, is the memory limit in MB.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group: the server stops this worker
    cap_memory(int(sys.argv[1]) if len(sys.argv) > 1 else None)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    tasks = _tasks()

    def send(answer: str) -> None:
        answers.write(answer + "\n")
        answers.flush()

    send(json.dumps(["ready", None]))
    for line in sys.stdin:
        # The answer is made whole before it is sent, so that running out of memory while making it
        # still sends one answer.
        try:
            task, data = json.loads(line)
            answer = json.dumps(["ok", tasks[task](data)])
        except HandpropError as error:
            answer = json.dumps(["error", [error.file, error.where, error.what, error.expected]])
        except MemoryError:  # the request's objects are gone by now: what is left to do needs little
            answer = '["memory", null]'
        except Exception:  # reported to the app, which logs it and answers "internal error"
            answer = json.dumps(["internal", traceback.format_exc()])
        send(answer)


class Worker:
    """One worker process, used by one request at a time.

    >>> worker = Worker(time_limit=30)
    >>> from handprop.problem.files import example_path
    >>> worker.call("solve", {"text": example_path("homework").read_text()})["title"]
    'Machine Learning Homework 1'
    >>> worker.close()
    """

    def __init__(self, *, time_limit: float = DEFAULT_TIME_LIMIT, memory_limit: int | None = DEFAULT_MEMORY_LIMIT):
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self._lock = threading.Lock()
        self._process = None
        self._answers = None  # the lines the worker writes, read by a thread

    def start(self) -> None:
        """Start the worker now, so that the first request does not wait for its imports."""
        with self._lock:
            if self._process is None:
                self._start()

    def _start(self) -> None:
        import queue
        import subprocess
        from pathlib import Path

        # The worker imports this same handprop, wherever it was imported from.
        package_root = str(Path(__file__).resolve().parents[2])
        environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [package_root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        limit = [] if self.memory_limit is None else [str(self.memory_limit)]
        process = subprocess.Popen([sys.executable, "-m", "handprop.serve.worker", *limit], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, env=environment, text=True, encoding="utf-8", bufsize=1)
        answers = queue.Queue()

        def read() -> None:
            for line in process.stdout:
                answers.put(line)
            answers.put(None)  # the worker has ended

        threading.Thread(target=read, name="handprop-serve-answers", daemon=True).start()
        self._process, self._answers = process, answers
        # Its imports are not the first request's time: wait for them apart.
        if self._next(STARTUP_LIMIT) != ["ready", None]:
            self._stop()
            raise HandpropError(None, None, "the worker process did not start", "a machine with free memory")

    def _next(self, timeout: float):
        import queue

        try:
            line = self._answers.get(timeout=timeout)
        except queue.Empty:
            return "timeout"
        return None if line is None else json.loads(line)

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                stream.close()
        self._process = self._answers = None

    def close(self) -> None:
        with self._lock:
            self._stop()

    def call(self, task: str, data: dict):
        """The task's answer; HandpropError for bad input or a computation past the time or memory limit."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._stop()
                self._start()
            try:
                self._process.stdin.write(json.dumps([task, data]) + "\n")
                self._process.stdin.flush()
            except OSError:
                answer = None
            else:
                answer = self._next(self.time_limit)
            if answer == "timeout":
                self._stop()
                raise HandpropError(None, None, f"the computation took longer than {self.time_limit:g} s and was "
                                    "stopped", "a smaller problem or fewer steps; the command line has no limit")
            if answer is None:
                self._stop()
                raise HandpropError(None, None, "the computation stopped unexpectedly (out of memory?)",
                                    "a smaller problem")
            if answer[0] == "memory":
                self._stop()  # a fresh worker for the next request, with all of its memory back
                raise HandpropError(None, None, f"the computation needed more than {self.memory_limit} MB and was "
                                    "stopped", "a smaller problem or fewer steps; the command line has no limit")
        status, value = answer
        if status == "error":
            raise HandpropError(*value)
        if status == "internal":
            raise RuntimeError(f"handprop serve worker failed:\n{value}")
        return value


if __name__ == "__main__":
    main()
