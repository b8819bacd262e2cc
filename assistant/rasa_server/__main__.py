"""``python -m assistant.rasa_server run ...``: ``rasa`` with the assistant's extensions installed."""

from __future__ import annotations

from assistant.rasa_server.action_failures import install


def main() -> None:
    install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
