"""QR codes as SVG (appointment codes, ticket status links): vector, so they print sharp."""

import qrcode
import qrcode.image.svg


def qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + image.to_string(encoding="unicode")
