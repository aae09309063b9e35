"""One benchmark's figures, the line it prints, and the JSON file every run writes."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path("var/bench-results.json")
CITY_RESULTS = Path("var/bench-city-results.json")  # `--city`: kept apart from `make bench`'s


@dataclass
class Result:
    """A rate through Casework beside the raw library's rate, measured in the same run."""

    name: str
    unit: str
    casework: float
    casework_label: str
    raw: float
    raw_label: str
    target: float | None  # None: a figure to read, with no target set
    extra: dict[str, Any] = field(default_factory=dict)
    # of several rounds: the median round of each side, printed beside the best (the ratio
    # and its target are the best rounds')
    casework_median: float | None = None
    raw_median: float | None = None

    @property
    def ratio(self) -> float:
        return self.casework / self.raw if self.raw else 0.0

    def median_text(self) -> str:
        if self.casework_median is None or not self.raw_median:
            return ""
        ratio = math.floor(self.casework_median / self.raw_median * 100) / 100
        return (
            f"; median rounds {self.casework_median:,.0f}{self.unit}"
            f" vs {self.raw_median:,.0f}{self.unit} -> ratio {ratio:.2f}"
        )

    @property
    def ok(self) -> bool:
        return self.target is None or self.ratio >= self.target

    def line(self) -> str:
        verdict = "OK" if self.ok else "BELOW TARGET"
        target = (
            "(no target)" if self.target is None else f"(target >= {self.target:.2f}) {verdict}"
        )
        return (
            f"{self.name}: {self.casework_label} {self.casework:,.0f}{self.unit}"
            f" vs {self.raw_label} {self.raw:,.0f}{self.unit}"
            f" -> ratio {math.floor(self.ratio * 100) / 100:.2f}"
            f"{' (best rounds)' if self.casework_median is not None else ''}"
            f"{self.median_text()} {target}"
        )

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": round(self.ratio, 4), "ok": self.ok}


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered), math.ceil(p / 100 * len(ordered))) - 1)]


@dataclass
class Latency:
    """Command-to-projection latencies at a steady command rate."""

    name: str
    rate: float
    seconds: float
    samples_ms: list[float]
    missed: int
    extra: dict[str, Any] = field(default_factory=dict)

    def percentile(self, p: float) -> float:
        return percentile(self.samples_ms, p)

    def line(self) -> str:
        p50, p95, p99 = (self.percentile(p) for p in (50, 95, 99))
        tail = f", {self.missed} never seen (BELOW TARGET)" if self.missed else ""
        legs = ""
        if "store_to_topic_p50_ms" in self.extra and "topic_to_view_p50_ms" in self.extra:
            legs = (
                f" (p50 legs: store->topic {self.extra['store_to_topic_p50_ms']:.0f} ms,"
                f" topic->view {self.extra['topic_to_view_p50_ms']:.0f} ms)"
            )
        return (
            f"{self.name}: {len(self.samples_ms):,} commands at {self.rate:.0f}/s"
            f" for {self.seconds:.0f} s -> p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms,"
            f" max {max(self.samples_ms or [0]):.0f} ms{legs}{tail}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rate": self.rate,
            "seconds": self.seconds,
            "commands": len(self.samples_ms),
            "missed": self.missed,
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "max_ms": round(max(self.samples_ms or [0]), 2),
            **self.extra,
        }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "kafka_crc32c": kafka_crc32c(),
        "cpu_model": cpu,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        # Other work on the machine moves the figures: the 1, 5 and 15 minute load averages.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def kafka_crc32c() -> str:
    """Which CRC-32C kafka-python checks record batches with: it costs a lot in pure Python."""
    from kafka.record import util

    return "pure Python" if util.crc32c_c is None else "C (crc32c package)"


def write(results: list[Result | Latency], options: dict[str, Any], path: Path = RESULTS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": machine(),
        "options": options,
        "results": {r.name: r.as_json() for r in results},
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
