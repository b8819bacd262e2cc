"""The shared kernel: what every part of the assistant agrees on, depending on nothing else of ours.

- ``config``: settings; ``secrets``: generated secrets under the data dir.
- ``vocabulary``: canonical values with their English and Hindi labels;
  ``canonical``: phrases to canonical values; ``language``: which language a
  text is in; ``spoken_numbers`` and ``spoken_times``: the one normaliser of
  spoken numbers, and how times are said; ``emergency_advice``: what a worker
  is told of an emergency, by the backend and the action server alike.
- ``rules``: value ranges, limits, statuses and horizons; ``pins``, ``phones``, ``passwords``.
- ``dialogue``: the message contract between the actions and the channels;
  ``retry``: which failures are retried, and the shared backoffs.

Pure values and functions: no module here imports SQLAlchemy or aiohttp
(``tests/test_layering.py``). The databases are ``assistant.db``, the
backend's domain is ``assistant.domain``, and HTTP plumbing shared by several
parts is ``assistant.http``.
"""

__version__ = "0.1.0"
