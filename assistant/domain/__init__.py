"""The scheduling backend's domain: consults, the hub's operations, slots, rosters, people and records.

- ``hub_operations``: assign, reschedule, cancel, complete (one conditional
  UPDATE each), used by the backend's API and the console's Hub desk;
  ``consult_notices``: what the worker is told when the hub acts.
- ``slot_window``: slots cut from weekly hours; ``roster``: CSV rosters.
- ``people``: workers and their roles; ``api_tokens``: bearer tokens;
  ``scoping``: who sees which facility.
- ``records``: consults and encounters as JSON; ``fhir``: as FHIR R4.

Depends on ``assistant.core`` and ``assistant.db``.
"""
