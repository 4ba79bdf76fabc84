"""Onboarding services: the WhatsApp-connected handler, activation in YCLIENTS, the welcome, completion."""
