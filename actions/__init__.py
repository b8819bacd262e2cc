"""The action server's actions, run by ``python -m actions.server`` (loopback only, for Rasa).

One module per concern: ``consult``, ``checklist``, ``encounter``,
``validation`` (form validation and questions), ``session`` (language, stop).
They share one backend client (``backend``), the offline outbox (``outbox``,
delivered by ``sync``) and the bilingual replies (``texts``).
"""
