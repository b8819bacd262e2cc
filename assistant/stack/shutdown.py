"""When ``assistant up`` stops, and how it tells the terminal without dying of a closed pipe.

Every way of ending ``assistant up`` must end its children, or the next
``make run`` finds the ports taken:

- Ctrl-C (SIGINT), a service manager (SIGTERM), a closed terminal (SIGHUP):
  each becomes ``StopRequested`` in the main thread, which then stops the
  services in order.
- A closed output pipe (``assistant up | tee up.log`` where ``tee`` died of
  the same Ctrl-C): printing would raise ``BrokenPipeError`` and skip the
  shutdown. ``say`` never raises, and the supervisor also notices a pipe
  whose reader is gone while nothing is printed (``output_gone``).
- ``assistant up`` itself killed (SIGKILL): nothing runs in it any more, so
  each child is started to receive SIGTERM when its parent dies
  (``assistant.stack.process``).
"""

from __future__ import annotations

import os
import select
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.stack.supervisor import Supervisor

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequested(Exception):
    """A signal or a vanished terminal asked ``assistant up`` to stop."""


def _raise_stop(signum: int, _frame: Any) -> None:
    raise StopRequested(signal.Signals(signum).name)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While inside, SIGINT, SIGTERM and SIGHUP raise ``StopRequested`` in the main thread."""
    previous = {sig: signal.signal(sig, _raise_stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def ignore_stop_signals() -> None:
    """While the services are being stopped, a second Ctrl-C must not cut that short."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def output_gone(fd: int = 1) -> bool:
    """Whether ``fd`` is a pipe whose reader has gone away (poll reports an error on the write end)."""
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        poller = select.poll()
        poller.register(fd, select.POLLERR | select.POLLHUP)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except OSError:
        return True


def request_stop() -> None:
    """From any thread: make the main thread stop, as a closed terminal would."""
    os.kill(os.getpid(), signal.SIGHUP)


def say(text: str) -> None:
    """Print to the terminal if it is still there; a closed pipe is silenced, never raised."""
    try:
        print(text, flush=True)
    except (BrokenPipeError, OSError):
        silence_output()


def silence_output() -> None:
    """Point stdout and stderr at /dev/null, so that nothing (not even exit) fails on a closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        try:
            os.dup2(devnull, fd)
        except OSError:
            pass
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process


def run_in_foreground(
    supervisor: Supervisor, starting: str, summary: Callable[[], str], chat: Callable[[], None] | None = None
) -> None:
    """Start the services, tell the terminal, and watch them until a way of stopping comes; then stop them all.

    ``assistant up``'s life in the foreground. With ``chat``, the terminal
    chat runs in the main thread and the supervisor watches from another; the
    chat ending (``/quit``) stops everything too. A service that does not
    start raises ``RuntimeError`` or ``TimeoutError`` after the others are stopped.
    """
    with stop_on_signals():
        try:
            say(starting)
            supervisor.start_all()
            say(summary())
            if chat is not None:
                watcher = threading.Thread(
                    target=supervisor.watch, kwargs={"on_poll": _stop_if_output_gone}, name="supervisor", daemon=True
                )
                watcher.start()
                chat()
            else:
                supervisor.watch(on_poll=_stop_if_output_gone)
        except (StopRequested, KeyboardInterrupt):
            pass
        finally:
            ignore_stop_signals()  # a second Ctrl-C must not cut the shutdown short
            say("Stopping...")
            supervisor.stop_all()
            say("Stopped.")


def _stop_if_output_gone() -> None:
    """``assistant up | tee up.log`` with ``tee`` gone: nobody sees us any more, so stop."""
    if output_gone():
        request_stop()
