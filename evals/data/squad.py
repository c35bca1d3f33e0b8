"""SQuAD-format data (v1.1 and v2.0 JSON): articles, paragraphs and questions, and a
connector that indexes the paragraphs (one document each) for end-to-end reader evaluation.

The format is the official one of Rajpurkar et al. (2016, 2018): ``data[].paragraphs[]``
with ``context`` and ``qas[]`` (``id``, ``question``, ``answers[].text``, ``is_impossible``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ragcore.errors import ConfigError
from ragcore.ids import content_hash, document_id
from ragcore.types import Document, DocumentRef


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    answers: tuple[str, ...]  # empty: unanswerable from its paragraph
    paragraph: int  # index into the article's paragraphs


@dataclass(frozen=True)
class Article:
    title: str
    paragraphs: tuple[str, ...]
    questions: tuple[Question, ...]


def load_squad(path: str | Path) -> list[Article]:
    """Articles of a SQuAD (1.1 or 2.0) JSON file, with a clear error for anything else."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        articles = []
        for article in data:
            paragraphs, questions = [], []
            for n, paragraph in enumerate(article["paragraphs"]):
                paragraphs.append(paragraph["context"])
                for qa in paragraph["qas"]:
                    impossible = qa.get("is_impossible", False)
                    answers = () if impossible else tuple(a["text"] for a in qa["answers"])
                    questions.append(Question(str(qa["id"]), qa["question"], answers, n))
            articles.append(Article(article.get("title", ""), tuple(paragraphs), tuple(questions)))
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist", "pass a SQuAD JSON file") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path} is not SQuAD JSON ({type(exc).__name__}: {exc})",
            "expected {'data': [{'title', 'paragraphs': [{'context', 'qas': [...]}]}]}",
        ) from None
    if not articles:
        raise ConfigError(f"{path} holds no articles", "pass a SQuAD JSON file with data")
    return articles


def split_articles(
    articles: Sequence[Article], names: Iterable[str]
) -> tuple[list[Article], list[Article]]:
    """(articles not named, articles named); every name must exist."""
    wanted = set(names)
    missing = wanted - {a.title for a in articles}
    if missing:
        raise ConfigError(
            f"no article titled {', '.join(sorted(missing))}",
            f"choose from: {', '.join(a.title for a in articles)}",
        )
    return [a for a in articles if a.title not in wanted], [
        a for a in articles if a.title in wanted
    ]


def paragraph_source(scope: str, article: Article, n: int) -> str:
    return f"{scope}/{article.title}/{n}"


class SquadParagraphs:
    """Connector over a SQuAD file's paragraphs: one document per paragraph, titled by its
    article; ``source`` is ``squad://<file stem>/<article>/<paragraph number>``."""

    def __init__(self, path: str | Path, articles: Sequence[Article]) -> None:
        self.scope = f"squad://{Path(path).stem}"
        self.articles = list(articles)
        self._docs: dict[str, Document] = {}

    def list(self) -> Iterator[DocumentRef]:
        for article in self.articles:
            for n, text in enumerate(article.paragraphs):
                source = paragraph_source(self.scope, article, n)
                doc = Document(
                    id=document_id(source),
                    source=source,
                    text=text,
                    content_hash=content_hash(text),
                    metadata={"title": article.title.replace("_", " "), "paragraph": n},
                )
                self._docs[doc.id] = doc
                yield DocumentRef(doc.id, source, doc.content_hash, doc.metadata)

    def load(self, ref: DocumentRef) -> Document:
        return self._docs[ref.id]
