"""Local stand-ins for the outside world (YCLIENTS, the WhatsApp gateway, an embedded Redis). Never imported by production code."""
