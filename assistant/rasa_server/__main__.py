"""``python -m assistant.rasa_server run ...``: ``rasa`` with the assistant's extensions installed.

- ``action_failures``: every turn is answered, even when an action cannot run;
- ``lan_guard``: on the clinic LAN, only the phones' routes answer other machines;
- ``outbox_notices``: a queued record the hub refused is told to the worker at their next turn;
- ``flow_sessions``: a conversation session also ends between flows, so turns stay cheap all day;
- ``action_results``: the action server's answers are checked with a schema validator compiled once;
- ``tracker_indexes``: the SQL tracker store finds a worker's session in an index, however long their day;
- ``model_loading``: the trained model loads in a third of the time (its weights are built eagerly);
- ``turn_metrics``: ``/metrics``, with every turn counted and timed by channel (``assistant.core.metrics``);
- log arguments are escaped (``assistant.core.log_safety``);
- the HTTP API token comes from ``ASSISTANT_RASA_TOKEN``, never from the
  command line, where every user of the machine could read it (``ps``).
"""

from __future__ import annotations

import os
import sys

from assistant.core import log_safety
from assistant.core.secrets import RASA_TOKEN_VARIABLE
from assistant.rasa_server import (
    action_failures,
    action_results,
    flow_sessions,
    lan_guard,
    model_loading,
    outbox_notices,
    tracker_indexes,
    turn_metrics,
)


def main() -> None:
    action_failures.install()
    lan_guard.install()
    outbox_notices.install()
    flow_sessions.install()
    action_results.install()
    tracker_indexes.install()
    model_loading.install()
    turn_metrics.install()
    log_safety.install()
    token = os.environ.get(RASA_TOKEN_VARIABLE, "")
    if token and sys.argv[1:2] == ["run"] and not any(arg.startswith("--auth-token") for arg in sys.argv):
        # In this process's own copy of argv only: /proc/<pid>/cmdline keeps what was executed.
        sys.argv.append(f"--auth-token={token}")  # with "=": a generated token may start with "-"
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
