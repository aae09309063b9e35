"""The shapes the API answers and the bounds of its queries."""

from __future__ import annotations

MAX_LIMIT = 100
