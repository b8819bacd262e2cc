"""The clinic-phone web chat (credentials.yml key ``assistant.channels.webchat.WebChatInput``)."""

from assistant.channels.webchat.channel import WebChatInput

__all__ = ["WebChatInput"]
