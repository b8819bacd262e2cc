"""The chat channels workers reach the assistant through, as Rasa input channels.

- ``webchat``: the clinic-phone web page (PIN sign-in, signed session tokens).
- ``whatsapp``: WhatsApp Business Cloud API webhooks and Graph API replies.
- ``twilio``: Twilio's WhatsApp webhook format, with X-Twilio-Signature checked.

Shared pieces, one job each: ``state`` (dedupe and session state that
survives restarts), ``hub`` (the backend calls: PINs and sender lookup),
``identities`` (sender -> worker), ``inbound`` (one messaging-app message
into Rasa), ``choices`` and ``textsplit`` (bot messages for text-only
screens), ``voice_notes`` (audio -> text with the voice package's engine),
``environment`` (what ``assistant up`` gives Rasa, and its summary lines).

Configured in ``credentials.yml``; see docs/channels.md. The sender id Rasa
sees is always the worker id, never a phone number (docs/contracts.md).
"""
