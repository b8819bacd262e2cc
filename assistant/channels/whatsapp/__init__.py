"""The WhatsApp Business Cloud API connector (credentials.yml key ``assistant.channels.whatsapp.WhatsAppInput``)."""

from assistant.channels.whatsapp.channel import WhatsAppInput

__all__ = ["WhatsAppInput"]
