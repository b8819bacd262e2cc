"""HTTP plumbing that several parts share, built on aiohttp (and Sanic, for the metrics route).

- ``backend_client``: the one client of the scheduling backend (the action
  server and the channels), with its timeouts, retries and error hierarchy.
- ``access_log``: the backend's and the console's access log, without query
  strings or other patient data.
- ``metrics_aiohttp``, ``metrics_sanic``: ``GET /metrics`` on each framework's
  apps, with the kernel's figures and access rule (``assistant.core.metrics``).

Depends on ``assistant.core`` only.
"""
