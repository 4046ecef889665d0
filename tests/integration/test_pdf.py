"""The PDF renderer on its own: whatever the name, it is printed whole and inside the page."""

from __future__ import annotations

from datetime import date

import pypdfium2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arccm.adapters.certificates.pdf import PdfCertificateRenderer
from arccm.application.ports.certificate_renderer import CertificateDocument
from arccm.domain.templates import CertificateLayout


def document(name: str, course: str = "Standard First Aid with CPR Level C") -> CertificateDocument:
    return CertificateDocument(
        recipient_name=name,
        course_name=course,
        issue_date=date(2026, 12, 1),
        expiry_date=date(2029, 12, 1),
        instructor_name="Irene Instructor",
        location_name="Northside Hall",
        issuer_name="Northside Safety Training",
        verification_code="BW8G-AHN1-PR3X-G",
        verification_url="https://verify.example.org/verify/BW8G-AHN1-PR3X-G",
    )


def printed(content: bytes) -> tuple[str, list[tuple[float, float, float, float]], float]:
    """The page's text, the box of every character, and the page's width (points)."""
    page = pypdfium2.PdfDocument(content)[0]
    text = page.get_textpage()
    boxes = [text.get_charbox(i) for i in range(text.count_chars())]
    return text.get_text_range(), boxes, page.get_width()


def squeeze(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("length", [20, 46, 80, 140, 200])
def test_a_long_name_is_printed_whole_inside_the_page(length: int) -> None:
    name = ("Maria-Fernanda Alejandra de los Santos Villanueva " * 5)[:length].strip()
    text, boxes, width = printed(PdfCertificateRenderer().render(document(name), CertificateLayout()))
    assert squeeze(name) in squeeze(text)  # every character, in order (a wrapped name breaks at a space)
    margin = 20 / 25.4 * 72  # the 20 mm the layout keeps free on each side
    assert all(left >= margin - 1 and right <= width - margin + 1 for left, _, right, _ in boxes if right > left)


@settings(max_examples=15, deadline=None)
@given(st.text(alphabet=st.characters(categories=["Lu", "Ll"], max_codepoint=0x24F), min_size=1, max_size=60))
def test_any_latin_name_and_course_stay_inside_the_page(word: str) -> None:
    name = " ".join([word] * 4)[:200]
    text, boxes, width = printed(PdfCertificateRenderer().render(document(name, course=name), CertificateLayout()))
    assert squeeze(name) in squeeze(text)
    assert all(left >= 0 and right <= width for left, _, right, _ in boxes if right > left)


def test_the_renderer_names_what_its_fonts_cannot_print() -> None:
    renderer = PdfCertificateRenderer()
    assert renderer.unprintable("Zoë Núñez-Ørsted, Αλέξης, Дмитрий") == ""
    assert renderer.unprintable("王小明 and 王小明") == "王小明"
