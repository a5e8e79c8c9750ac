"""HTML to an A4 PDF (WeasyPrint): the patient summary, minutes and letters, the registry
and governance reports. The page size and margins come from each document's own CSS."""

from __future__ import annotations


def html_to_pdf(html: str) -> bytes:
    import weasyprint  # slow to import; only PDFs need it

    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf
