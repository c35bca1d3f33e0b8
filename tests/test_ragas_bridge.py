"""The ragas bridge: offline metrics agree with ragcore's own, make no network call, and
LLM-judged metrics reach only the judge endpoint the user names."""

from __future__ import annotations

import json
import random
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from ragcore.evals.generation_eval import GenerationExample
from ragcore.evals.metrics import evaluate
from ragcore.evals.ragas_bridge import (
    OFFLINE_METRICS,
    RagasMetric,
    answer_samples,
    openai_compatible_judge,
    run_ragas,
    run_samples,
)

from ragcore import Answer, Chunk, Citation, Hit
from ragcore.errors import ConfigError


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Any connection to a non-loopback address fails the test."""
    attempts: list[object] = []
    real = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1"):
            attempts.append(address)
            raise OSError(f"network call to {address} in an offline test")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return attempts


def _hit(n: int, doc: str, text: str) -> Hit:
    return Hit(Chunk(f"c{n}", doc, text, 0, len(text), metadata={"source": doc}), 1 / n, n)


def test_offline_metrics_by_hand(no_network: list[object]) -> None:
    hits = (
        _hit(1, "d1", "Pro costs $8 per user per month."),
        _hit(2, "d2", "Community is free."),
    )
    examples = [
        GenerationExample("a", "price of pro?", ("$8 per user",), {"d1"}, ("Pro costs $8.",)),
        GenerationExample("b", "who founded it?"),
    ]
    answers = [
        Answer("price of pro?", "$8 per user", (Citation(1, "c1", "d1"),), hits),
        Answer("who founded it?", None, (), hits),
    ]
    result = run_ragas(answer_samples(examples, answers))
    per = result["per_sample"]
    # ids are matched at the evidence's level (documents): retrieved [d1, c2], gold {d1}
    assert per["id_based_context_precision"][0] == 0.5
    assert per["id_based_context_recall"][0] == 1.0
    # no gold ids for b: NaN there and left out of the mean, as ragas does
    assert result["metrics"]["id_based_context_precision"] == 0.5
    assert per["exact_match"] == [1.0, 1.0]  # abstaining on an unanswerable question matches
    assert per["string_present"] == [1.0, 1.0]
    assert set(result["metrics"]) == {m.value for m in OFFLINE_METRICS}
    assert not no_network


def test_id_metrics_congruent_with_ragcore(no_network: list[object]) -> None:
    rng = random.Random(3)
    docs = [f"d{i}" for i in range(30)]
    qrels = {f"q{i}": {d: 1.0 for d in rng.sample(docs, rng.randint(1, 5))} for i in range(40)}
    run = {q: rng.sample(docs, 12) for q in qrels}
    samples = run_samples(run, qrels, {}, k=10)
    ours = evaluate(run, qrels, ["precision@10", "recall@10"])
    theirs = run_ragas(samples, [RagasMetric.ID_CONTEXT_PRECISION, RagasMetric.ID_CONTEXT_RECALL])[
        "per_sample"
    ]
    qs = sorted(qrels)
    assert theirs["id_based_context_precision"] == pytest.approx(
        [ours["precision@10"][q] for q in qs], abs=1e-12
    )
    assert theirs["id_based_context_recall"] == pytest.approx(
        [ours["recall@10"][q] for q in qs], abs=1e-12
    )


def test_judge_metrics_need_a_judge() -> None:
    with pytest.raises(ConfigError, match="faithfulness need an LLM judge") as info:
        run_ragas([], [RagasMetric.FAITHFULNESS])
    assert "openai_compatible_judge" in info.value.hint


@pytest.fixture
def judge_server() -> Iterator[tuple[str, list[dict]]]:
    """A real OpenAI-compatible endpoint on 127.0.0.1 whose 'model' rates every answer 2/4."""
    requests: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append({"path": self.path, **body})
            reply = {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": i,
                        "message": {"role": "assistant", "content": "2"},
                        "finish_reason": "stop",
                    }
                    for i in range(body.get("n", 1))
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1", requests
    server.shutdown()


def test_llm_judged_metric_uses_the_given_endpoint(
    judge_server: tuple[str, list[dict]], no_network: list[object]
) -> None:
    url, requests = judge_server
    hits = (_hit(1, "d1", "Pro costs $8 per user per month."),)
    examples = [GenerationExample("a", "price of pro?", ("$8 per user",))]
    answers = [Answer("price of pro?", "$8", (Citation(1, "c1", "d1"),), hits)]
    judge = openai_compatible_judge(url, "my-judge")
    result = run_ragas(answer_samples(examples, answers), [RagasMetric.ANSWER_ACCURACY], judge)
    # the judge rated both directions 2 of 4: (0.5 + 0.5) / 2
    assert result["metrics"]["nv_accuracy"] == 0.5
    assert requests and all(r["model"] == "my-judge" for r in requests)
    assert all(r["path"] == "/v1/chat/completions" for r in requests)
    assert not no_network
