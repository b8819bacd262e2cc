"""The chat channels workers reach the assistant through, as Rasa input channels.

- ``webchat``: the clinic-phone web page (PIN sign-in, signed session tokens).
- ``whatsapp``: WhatsApp Business Cloud API webhooks and Graph API replies.
- ``twilio``: Twilio's WhatsApp webhook format, with X-Twilio-Signature checked.

Shared pieces, one job each: ``state`` (dedupe and session state that
survives restarts), ``runtime`` (settings, state and the backend client,
``assistant.http.backend_client``, shared in one Rasa process),
``identities`` (sender -> worker), ``inbound`` (one messaging-app message
into Rasa), ``turns`` (one turn through Rasa), ``numbered_choices`` and
``textsplit`` (bot messages for text-only screens), ``notices`` (what the
channels say themselves), ``http_errors`` (their own HTTP error answers),
``metadata`` (the user-message metadata), ``voice_notes`` (audio -> text
with the voice package's engine), ``hub_notices`` (the hub's news about a
consult, told once in the worker's conversation).

Configured in ``credentials.yml``; see docs/channels.md. The sender id Rasa
sees is always the worker id, never a phone number (docs/contracts.md).
"""
