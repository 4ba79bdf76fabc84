"""A WAHA-compatible WhatsApp gateway simulator (process `whatsapp-sim`)."""
