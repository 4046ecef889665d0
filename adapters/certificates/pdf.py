"""Certificates as PDF (fpdf2), with a QR code (segno) that carries the verification URL.

The fonts (DejaVu Sans, shipped beside this module with their licence) cover
Latin, Greek and Cyrillic, so names print as they are written.
"""

from __future__ import annotations

import functools
import io
from importlib.resources import files
from typing import cast

import segno
from fpdf import FPDF
from fpdf.enums import MethodReturnValue

from arccm.application.ports.certificate_renderer import CertificateDocument
from arccm.domain.templates import CertificateLayout

FONTS = files("arccm.adapters.certificates") / "fonts"
WIDTH, HEIGHT = 297.0, 210.0  # A4 landscape, millimetres
QR_SIZE = 42.0


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    if len(value) != 6:
        return (31, 78, 121)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=12, border=2)
    buffer.seek(0)
    return buffer


@functools.cache
def _printable() -> frozenset[int]:
    """The code points both shipped faces (regular and bold) have a glyph for."""
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # fpdf2's own font reader (no stubs)

    faces = [TTFont(str(FONTS / name), lazy=True).getBestCmap() for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")]
    return frozenset(faces[0]) & frozenset(faces[1])


class PdfCertificateRenderer:
    media_type = "application/pdf"

    def unprintable(self, text: str) -> str:
        printable = _printable()
        return "".join(dict.fromkeys(ch for ch in text if ord(ch) not in printable and not ch.isspace()))

    def render(self, document: CertificateDocument, layout: CertificateLayout) -> bytes:
        pdf = FPDF(orientation="L", unit="mm", format="A4")
        pdf.set_auto_page_break(False)
        pdf.set_title(f"{document.course_name} — {document.recipient_name}")
        pdf.set_creator("arccm")
        pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        pdf.add_page()
        accent = _rgb(layout.accent)
        self._frame(pdf, accent)
        self._body(pdf, document, layout, accent)
        self._footer(pdf, document, layout)
        return bytes(pdf.output())

    @staticmethod
    def _frame(pdf: FPDF, accent: tuple[int, int, int]) -> None:
        pdf.set_draw_color(*accent)
        pdf.set_line_width(2.0)
        pdf.rect(8, 8, WIDTH - 16, HEIGHT - 16)
        pdf.set_line_width(0.4)
        pdf.rect(12, 12, WIDTH - 24, HEIGHT - 24)

    @staticmethod
    def _centred(pdf: FPDF, y: float, text: str, size: float, bold: bool = False) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.set_xy(20, y)
        pdf.cell(WIDTH - 40, size * 0.5, text, align="C")

    def _fitted(self, pdf: FPDF, y: float, text: str, size: int, bold: bool = False) -> None:
        """``text`` whole between the margins: at ``size`` if it fits on one line, else at the largest size down to
        60 % of it that does, else wrapped onto two lines at the largest size that fits them (a long name is
        printed in full, never cut off at the page's edge)."""
        style, width = "B" if bold else "", WIDTH - 40
        smallest = max(8, int(size * 0.6))
        for points in range(size, smallest - 1, -1):
            pdf.set_font("DejaVu", style, points)
            if pdf.get_string_width(text) <= width:
                self._centred(pdf, y, text, points, bold)
                return
        for points in range(smallest, 5, -1):
            pdf.set_font("DejaVu", style, points)
            lines = cast(
                list[str],
                pdf.multi_cell(width, points * 0.45, text, align="C", dry_run=True, output=MethodReturnValue.LINES),
            )
            if len(lines) <= 2 or points == 6:
                pdf.set_xy(20, y - points * 0.2)
                pdf.multi_cell(width, points * 0.45, text, align="C")
                return

    def _body(
        self, pdf: FPDF, document: CertificateDocument, layout: CertificateLayout, accent: tuple[int, int, int]
    ) -> None:
        pdf.set_text_color(*accent)
        self._centred(pdf, 28, layout.title, 30, bold=True)
        pdf.set_text_color(60, 60, 60)
        self._centred(pdf, 50, layout.subtitle, 14)
        pdf.set_text_color(20, 20, 20)
        self._fitted(pdf, 62, document.recipient_name, 28, bold=True)
        pdf.set_text_color(60, 60, 60)
        self._centred(pdf, 82, "has successfully completed", 14)
        pdf.set_text_color(*accent)
        self._fitted(pdf, 93, document.course_name, 22, bold=True)
        pdf.set_text_color(60, 60, 60)
        self._centred(pdf, 110, f"at {document.location_name} · issued by {document.issuer_name}", 12)
        issued, expires = document.issue_date.strftime("%d %B %Y"), document.expiry_date.strftime("%d %B %Y")
        self._centred(pdf, 119, f"Issued {issued} · Valid until {expires}", 12)
        pdf.set_draw_color(120, 120, 120)
        pdf.set_line_width(0.3)
        pdf.line(40, 160, 120, 160)
        pdf.set_font("DejaVu", "", 11)
        pdf.set_xy(40, 162)
        pdf.cell(80, 5, document.instructor_name, align="C")
        pdf.set_xy(40, 168)
        pdf.set_font("DejaVu", "", 9)
        pdf.cell(80, 4, layout.signature_label, align="C")

    @staticmethod
    def _footer(pdf: FPDF, document: CertificateDocument, layout: CertificateLayout) -> None:
        x, y = WIDTH - 20 - QR_SIZE, HEIGHT - 22 - QR_SIZE
        pdf.image(qr_png(document.verification_url), x=x, y=y, w=QR_SIZE, h=QR_SIZE)
        pdf.set_text_color(40, 40, 40)
        pdf.set_font("DejaVu", "B", 11)
        pdf.set_xy(x - 30, y + QR_SIZE + 1)
        pdf.cell(QR_SIZE + 30, 5, document.verification_code, align="R")
        pdf.set_font("DejaVu", "", 8)
        pdf.set_xy(125, 160)
        pdf.multi_cell(x - 130, 4, f"{layout.footer}\n{document.verification_url}", align="R")
