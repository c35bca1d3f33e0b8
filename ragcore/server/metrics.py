"""Prometheus text exposition (format 0.0.4) of the server's counters, without a client
library: requests and latency histograms per route and status, and answers abstained."""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.answers = 0
        self.abstained = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self.buckets[route][i] += 1
            self.sums[route] += seconds
            self.counts[route] += 1

    def answered(self, abstained: bool) -> None:
        with self._lock:
            self.answers += 1
            self.abstained += abstained

    def render(self, documents: int, chunks: int) -> str:
        lines = [
            "# HELP ragcore_requests_total HTTP requests by method, route and status.",
            "# TYPE ragcore_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self.requests.items()):
                labels = f'method="{method}",route="{route}",status="{status}"'
                lines.append(f"ragcore_requests_total{{{labels}}} {n}")
            lines += [
                "# HELP ragcore_request_seconds Request latency by route.",
                "# TYPE ragcore_request_seconds histogram",
            ]
            for route in sorted(self.counts):
                name, label = "ragcore_request_seconds", f'route="{route}"'
                for bound, n in zip(BUCKETS, self.buckets[route], strict=True):
                    lines.append(f'{name}_bucket{{{label},le="{bound}"}} {n}')
                lines.append(f'{name}_bucket{{{label},le="+Inf"}} {self.counts[route]}')
                lines.append(f"{name}_sum{{{label}}} {self.sums[route]}")
                lines.append(f"{name}_count{{{label}}} {self.counts[route]}")
            rate = self.abstained / self.answers if self.answers else 0.0
            lines += [
                "# HELP ragcore_answers_total Answers given or abstained, by ask and chat.",
                "# TYPE ragcore_answers_total counter",
                f"ragcore_answers_total {self.answers}",
                "# HELP ragcore_abstention_ratio Share of answers that abstained.",
                "# TYPE ragcore_abstention_ratio gauge",
                f"ragcore_abstention_ratio {rate}",
            ]
        lines += [
            "# HELP ragcore_documents Documents in the index.",
            "# TYPE ragcore_documents gauge",
            f"ragcore_documents {documents}",
            "# HELP ragcore_chunks Chunks in the index.",
            "# TYPE ragcore_chunks gauge",
            f"ragcore_chunks {chunks}",
        ]
        return "\n".join(lines) + "\n"
