"""Render a raw QR payload (the text WhatsApp encodes) as an inline SVG for the onboarding page."""
from __future__ import annotations

import qrcode
import qrcode.image.svg


def render_svg(payload: str) -> str:
    # Error correction L keeps the long whatsmeow payload at a scannable module size; border 4 is the spec's quiet zone.
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=10, border=4,
                       image_factory=qrcode.image.svg.SvgPathImage)
    qr.add_data(payload)
    qr.make(fit=True)
    svg = qr.make_image().to_string(encoding="unicode")
    if svg.startswith("<?xml"):
        svg = svg.split("?>", 1)[1].lstrip()
    return svg
