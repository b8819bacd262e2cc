"""The ``rasa run`` process of the assistant: Rasa Open Source with our runtime extensions.

``python -m assistant.rasa_server run ...`` takes exactly ``rasa``'s own
arguments. Before Rasa starts, it installs what Rasa 3.6 has no setting for
(``action_failures``: every turn gets an answer). ``assistant up`` runs Rasa
this way; so do the tests.
"""
