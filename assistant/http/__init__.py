"""HTTP plumbing that several parts share, built on aiohttp.

- ``backend_client``: the one client of the scheduling backend (the action
  server and the channels), with its timeouts, retries and error hierarchy.
- ``access_log``: the backend's and the console's access log, without query
  strings or other patient data.

Depends on ``assistant.core`` only.
"""
