"""The WhatsApp gateway adapter (WAHA), its webhook relay (process `bridge`) and send pacing. Knows nothing of YCLIENTS."""
