"""The WhatsApp gateway (WAHA): its HTTP client, errors, session naming and phone formats."""
