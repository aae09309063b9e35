"""A bounded cache that forgets the least recently used entries first (`cachetools.LRUCache`),
safe to share between a web worker's threads.

The per-process caches of personal-data keys and opened values (`adapters.keystore`,
`adapters.codec`) use it: when full, each new entry evicts the one used longest ago, so a
city's worth of keys degrades gradually instead of emptying the whole cache at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from cachetools import LRUCache

# How many keys of persons and households a process keeps at most (CASEWORK_KEY_CACHE):
# Kota Jambi has about 950,000 (persons, families, households); the seeded city of 160,000
# families has 1,054,634. The key store keeps them raw (32 bytes): measured with tracemalloc,
# about 276 bytes per entry (its 32-hex subject, the key, the LRU's bookkeeping), so the
# city's keys cost about 290 MB, in a process that reads the whole city (a rebuild, the city
# seed); others keep only the keys they use. Room for half as many again: a rebuild reads
# the keys about in the order they were made, and a cache even slightly smaller than that
# misses on every key (the least recently used is always the next one needed).
KEY_CACHE = 1_500_000
_MISSING = object()


class Lru:
    """A mapping of at most `maxsize` entries (or of `getsizeof` summed), evicting the least
    recently used; every operation under one lock."""

    def __init__(self, maxsize: int, getsizeof: Callable[[Any], int] | None = None) -> None:
        self._cache: LRUCache = LRUCache(maxsize=maxsize, getsizeof=getsizeof)
        self._getsizeof = getsizeof
        self._lock = threading.Lock()

    @property
    def maxsize(self) -> int:
        return int(self._cache.maxsize)

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value (now the most recently used), or `default`."""
        with self._lock:
            value = self._cache.get(key, _MISSING)
        return default if value is _MISSING else value

    def put(self, key: Hashable, value: Any) -> None:
        """Keep the value, evicting the least recently used entries to make room; a value
        larger than the whole cache is not kept."""
        with self._lock:
            try:
                self._cache[key] = value
            except ValueError:  # larger than maxsize (with getsizeof)
                pass

    def update(self, values: Mapping[Hashable, Any]) -> None:
        with self._lock:
            for key, value in values.items():
                self._cache[key] = value

    def missing(self, keys: Iterable[Hashable]) -> set[Hashable]:
        """Those of `keys` not cached (their order of use unchanged)."""
        with self._lock:
            return {key for key in keys if key not in self._cache}

    def clear(self) -> None:
        """Empty it. A new cache in place of the old one: `LRUCache.clear` pops the entries one
        by one, about a second for the key store's million keys, under the lock."""
        with self._lock:
            self._cache = LRUCache(maxsize=self._cache.maxsize, getsizeof=self._getsizeof)

    def discard(self, keys: Iterable[Hashable]) -> None:
        """Drop these entries, those not cached ignored."""
        with self._lock:
            for key in keys:
                self._cache.pop(key, None)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._cache

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)

    @property
    def currsize(self) -> int:
        with self._lock:
            return int(self._cache.currsize)
