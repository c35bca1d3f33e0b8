from __future__ import annotations

from ragcore.chunking import Chunker, embedding_text, sections
from ragcore.types import Document

TEXT = """# Guide

Intro paragraph.

## Install

Run the installer. It takes a minute.

```
# not a heading inside code
```

### Linux

Use the tarball.

## Usage

Start it.
"""


def words(text: str) -> list[int]:
    return [hash(w) % 1000 for w in text.split()]


def test_sections_heading_paths_and_code_fences() -> None:
    got = [(TEXT[s.start : s.end].split("\n")[0], s.heading_path) for s in sections(TEXT)]
    assert got == [
        ("# Guide", ("Guide",)),
        ("## Install", ("Guide", "Install")),
        ("### Linux", ("Guide", "Install", "Linux")),
        ("## Usage", ("Guide", "Usage")),
    ]


def test_heading_only_section_is_dropped() -> None:
    text = "# A\n\n## B\n\nbody text\n"
    assert [s.heading_path for s in sections(text)] == [("A", "B")]


def test_chunks_have_exact_spans_and_respect_size() -> None:
    body = " ".join(f"Sentence number {i} is here." for i in range(200))
    doc = Document("d", "file:///x.txt", "# T\n\n" + body, "h", {"title": "T"})
    chunks = Chunker(words, chunk_size=40, chunk_overlap=8).chunk(doc)
    assert len(chunks) > 10
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert len(words(c.text)) <= 40
        assert c.heading_path == ("T",)
        assert c.metadata["source"] == "file:///x.txt"
    assert len({c.id for c in chunks}) == len(chunks)
    # overlap: consecutive chunks share text
    assert chunks[1].start < chunks[0].end
    # re-chunking is deterministic
    assert [c.id for c in Chunker(words, 40, 8).chunk(doc)] == [c.id for c in chunks]


def test_embedding_text_adds_missing_context_once() -> None:
    doc = Document("d", "s", "## Ports\n\nThe gateway uses 9000.", "h", {"title": "Gateway"})
    (chunk,) = Chunker(words, 64, 0).chunk(doc)
    assert embedding_text(chunk) == "Gateway\n## Ports\n\nThe gateway uses 9000."


def test_a_repeated_paragraph_gets_its_own_span() -> None:
    para = "The same warning appears twice in this manual. Read it before you start."
    other = " ".join(f"Filler sentence {i} sits between the two copies." for i in range(12))
    text = f"{para}\n\n{para}\n\n{other}\n\n{para}"  # twice in a row, then once more
    doc = Document("d", "file:///r.txt", text, "h", {})
    chunks = Chunker(words, chunk_size=16, chunk_overlap=0).chunk(doc)
    copies = [c for c in chunks if c.text == para]
    assert len(copies) == 3  # each copy is a chunk of its own at this size
    assert [c.start for c in copies] == [i for i in range(len(text)) if text.startswith(para, i)]
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
    starts = [c.start for c in chunks]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_chunk_texts_are_the_splitters_own() -> None:
    from llama_index.core.node_parser import SentenceSplitter

    body = "\n\n".join(
        " ".join(f"Paragraph {p} has sentence {i}, with a clause; and more." for i in range(9))
        for p in range(6)
    )
    doc = Document("d", "file:///s.txt", body, "h", {})
    for size, overlap in ((24, 0), (40, 8), (64, 16)):
        ours = [c.text for c in Chunker(words, size, overlap).chunk(doc)]
        theirs = SentenceSplitter(chunk_size=size, chunk_overlap=overlap, tokenizer=words)
        assert ours == theirs.split_text(body)
