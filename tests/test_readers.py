from __future__ import annotations

import io

import pytest
from ragcore.connectors.readers import read_docx, read_html, read_markdown, read_pdf, read_text

from ragcore.errors import SourceError

HTML = b"""<html><head><title>Page T</title><script>var x=1;</script></head><body>
<nav><a href="/">Home</a> <a href="/x">Menu item</a></nav>
<main><h1>Main heading</h1><p>First <b>bold</b> para.</p>
<h2>Sub</h2><ul><li>one</li><li>two</li></ul></main>
<footer>Copyright footer</footer></body></html>"""


def _pdf(text: str) -> bytes:
    """A minimal one-page PDF with ``text`` in Helvetica (xref offsets computed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    )
    return out.getvalue()


def test_html_keeps_headings_and_drops_boilerplate() -> None:
    got = read_html(HTML)
    assert got.title == "Page T"
    assert got.text == "# Main heading\n\nFirst bold para.\n\n## Sub\n\n- one\n\n- two"
    assert "Menu item" not in got.text and "footer" not in got.text and "var x" not in got.text


def test_markdown_and_text_titles() -> None:
    assert read_markdown(b"intro\n\n# The Title\n\nbody").title == "The Title"
    assert read_text(b"\n\nFirst line\nsecond").title == "First line"
    with pytest.raises(SourceError, match="binary"):
        read_text(b"\x00\x01\x02")


def test_pdf_text_and_corrupt_pdf() -> None:
    got = read_pdf(_pdf("Gateway listens on port 9000"))
    assert "Gateway listens on port 9000" in got.text
    with pytest.raises(SourceError, match="corrupt or unreadable PDF"):
        read_pdf(b"%PDF-1.4\nthis is not really a pdf")


def test_docx_headings() -> None:
    import docx

    d = docx.Document()
    d.add_heading("Setup", level=1)
    d.add_paragraph("Install the package.")
    d.add_heading("Details", level=2)
    buf = io.BytesIO()
    d.save(buf)
    got = read_docx(buf.getvalue())
    assert got.text == "# Setup\n\nInstall the package.\n\n## Details"
    with pytest.raises(SourceError, match="DOCX"):
        read_docx(b"PK not a zip")


def test_html_keeps_loose_text_tables_and_code() -> None:
    page = b"""<html><body><div>Loose text in a div <span>and a span</span>.</div>
<div><div>Deep <em>nested</em> text</div>tail of the outer div</div>
<table><tr><th>plan</th><th>price</th></tr><tr><td>Pro</td><td>$12</td></tr>
<tr><td>Team <table><tr><td>inner</td></tr></table></td><td>$30</td></tr></table>
<pre>def f():
    return  1</pre></body></html>"""
    got = read_html(page).text.split("\n\n")
    assert got[0] == "Loose text in a div and a span."
    assert got[1:3] == ["Deep nested text", "tail of the outer div"]
    assert got[3].split("\n") == ["plan | price", "Pro | $12", "Team inner | $30"]
    assert got[4] == "```\ndef f():\n    return  1\n```"  # code keeps its spaces and lines


@pytest.mark.parametrize(
    ("head", "encoding"),
    [
        (b'<meta charset="windows-1252">', "cp1252"),
        (b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-2">', "iso8859_2"),
        (b'<meta charset="shift_jis">', "shift_jis"),
    ],
)
def test_html_honours_the_meta_charset(head: bytes, encoding: str) -> None:
    word = {"cp1252": "café", "iso8859_2": "Łódź", "shift_jis": "日本語"}[encoding]
    page = b"<html><head>" + head + b"</head><body><p>" + word.encode(encoding) + b"</p></body>"
    assert read_html(page).text == word


def test_http_header_charset_wins_over_meta() -> None:
    from ragcore.connectors.html_reader import decode_html

    body = '<meta charset="utf-8"><p>café</p>'.encode("cp1252")
    assert "café" in decode_html(body, "text/html; charset=windows-1252")
    assert "café" in decode_html("<p>café</p>".encode(), "text/html")  # no label: detected


def test_docx_tables_in_document_order() -> None:
    import docx

    d = docx.Document()
    d.add_paragraph("Before the table.")
    table = d.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "plan", (0, 1): "price", (1, 0): "Pro", (1, 1): "$12"}.items():
        table.cell(r, c).text = text
    d.add_paragraph("After the table.")
    buf = io.BytesIO()
    d.save(buf)
    got = read_docx(buf.getvalue()).text
    assert got == "Before the table.\n\nplan | price\nPro | $12\n\nAfter the table."


def test_a_pdf_without_a_text_layer_is_named() -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    buf = io.BytesIO()
    writer.write(buf)
    with pytest.raises(SourceError, match="no text layer") as caught:
        read_pdf(buf.getvalue())
    assert "OCR" in caught.value.hint
