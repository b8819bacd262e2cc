"""The shared kernel: what every part of the assistant agrees on, depending on nothing else of ours.

- ``config``: settings; ``secrets``: generated secrets under the data dir.
- ``vocabulary``: canonical values with their English and Hindi labels;
  ``canonical``: phrases to canonical values; ``language``: which language a
  text is in; ``spoken_numbers``: the one normaliser of spoken numbers.
- ``rules``: value ranges, limits and statuses; ``pins``, ``phones``, ``passwords``.
- ``db``: the databases and every ORM model; ``scoping``: who sees which
  facility; ``records`` and ``fhir``: consults and encounters as JSON and FHIR.
- ``backend_client``: the one HTTP client of the backend; ``dialogue``: the
  message contract between the actions and the channels.

Importing this package loads nothing: each part imports only what it needs,
so the action server never loads the backend's web or database layers.
"""

__version__ = "0.1.0"
