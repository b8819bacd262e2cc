"""Who holds a claim or a lock, in a form another process can check: is its holder provably gone?

A holder is named ``<machine>/<pid>/<start>``: the machine is this kernel's
boot id with the PID namespace, so two processes with the same name see the
same PIDs; ``start`` is when the process started (clock ticks since boot),
so a PID reused by a later process is not mistaken for the holder.

``gone`` is true only when it can be proved: the same machine, and no
process with that PID and start time. A holder on another machine (another
Rasa server of a district), or on a system without ``/proc``, is never gone
by this test: its lease runs out instead.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

UNKNOWN = "unknown"


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


@functools.lru_cache(maxsize=1)
def _machine() -> str:
    boot, namespace = _read("/proc/sys/kernel/random/boot_id"), None
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        pass
    if not boot or not namespace:
        return UNKNOWN
    return f"{boot}:{namespace.removeprefix('pid:').strip('[]')}"


def _started(pid: int) -> str | None:
    """The process's start time from ``/proc/<pid>/stat`` (field 22); None when no such process runs.

    A killed process not yet reaped by its parent (a zombie, state ``Z``) runs no more: None too.
    """
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: count fields after its end.
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) <= 19 or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def this_process() -> str:
    """This process as a holder (the PID is read each time: a forked child is a holder of its own)."""
    pid = os.getpid()
    return f"{_machine()}/{pid}/{_started(pid) or UNKNOWN}"


def gone(holder: str | None) -> bool:
    """Whether ``holder`` is provably no longer running: it was on this machine, and its process is not."""
    parts = (holder or "").split("/")
    if len(parts) != 3:
        return False
    machine, pid, started = parts
    if machine == UNKNOWN or machine != _machine() or not pid.isdigit() or started == UNKNOWN:
        return False
    return _started(int(pid)) != started
