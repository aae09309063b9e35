"""The key caches evict gradually: filling one beyond its size keeps the most recently used
entries (no cliff where the whole cache empties at once)."""

from __future__ import annotations

from adapters.codec import Codec, subject_of_token
from adapters.db import Database
from adapters.keystore import KeyStore
from adapters.lru import Lru
from adapters.settings import DatabaseUrl
from adapters.store_schema import migrate


def test_a_full_cache_drops_the_least_recently_used_only():
    cache = Lru(100)
    for n in range(100):
        cache.put(f"s{n}", n)
    assert cache.get("s0") == 0  # used again: now the most recent
    for n in range(100, 150):
        cache.put(f"s{n}", n)
    assert len(cache) == 100
    assert cache.get("s0") == 0 and cache.get("s149") == 149
    assert cache.get("s1") is None and cache.get("s50") is None  # the 50 used longest ago
    assert cache.get("s51") == 51


def test_a_byte_budget_evicts_by_size():
    cache = Lru(10, getsizeof=len)
    cache.put("a", b"12345")
    cache.put("b", b"12345")
    cache.put("c", b"123")
    assert cache.get("a") is None and cache.get("b") == b"12345" and cache.get("c") == b"123"
    cache.put("huge", b"x" * 11)  # larger than the whole budget: not kept, nothing lost
    assert cache.get("huge") is None and cache.get("c") == b"123"


def test_the_key_store_keeps_the_keys_used_most_recently(tmp_path):
    store = Database(DatabaseUrl.parse(f"sqlite:///{tmp_path}/store.db", "CASEWORK_STORE"))
    migrate(store)
    keys = KeyStore(store, bytes(range(32)), cache_size=1000)
    made = keys.subjects_for([f"lookup{n:04d}" for n in range(1500)])
    subjects = [made[f"lookup{n:04d}"][0] for n in range(1500)]
    # the cache holds the last 1000 made; reading the first 10 again brings them back in
    keys.keys(subjects[:10])
    with store.transaction() as cur:  # from now on only the cache can answer
        cur.execute("UPDATE casework_personal_keys SET wrapped = NULL")
    assert all(keys.key(s) is not None for s in subjects[:10])  # used again: kept
    assert all(keys.key(s) is not None for s in subjects[-500:])  # most recent: kept
    assert keys.key(subjects[10]) is None  # used longest ago: evicted, so read (erased)


def test_a_preload_reads_every_live_key_into_the_cache_a_chunk_at_a_time(tmp_path, monkeypatch):
    store = Database(DatabaseUrl.parse(f"sqlite:///{tmp_path}/store.db", "CASEWORK_STORE"))
    migrate(store)
    made = KeyStore(store, bytes(range(32))).subjects_for([f"lookup{n:04d}" for n in range(700)])
    subjects = [made[f"lookup{n:04d}"][0] for n in range(700)]
    chunks: list[int] = []
    whole = store.query_chunks

    def in_small_chunks(statement, params=(), size=10_000):
        for rows in whole(statement, params, size=250):
            chunks.append(len(rows))
            yield rows

    monkeypatch.setattr(store, "query_chunks", in_small_chunks)
    fresh = KeyStore(store, bytes(range(32)))
    assert fresh.preload() == 700
    assert chunks == [250, 250, 200]  # never the whole result at once
    with store.transaction() as cur:  # from now on only the cache can answer
        cur.execute("UPDATE casework_personal_keys SET wrapped = NULL")
    assert all(fresh.key(s) is not None for s in subjects)
    assert KeyStore(store, bytes(range(32))).preload() == 0  # erased keys are not loaded


def test_discarded_unwritten_keys_are_not_written_and_no_cache_hands_them_out(tmp_path):
    store = Database(DatabaseUrl.parse(f"sqlite:///{tmp_path}/store.db", "CASEWORK_STORE"))
    migrate(store)
    keys = KeyStore(store, bytes(range(32)))
    keys.write_with_events = True  # the write side's: new keys wait for the events' save
    codec = Codec(keys)
    nik = "1571010101900001"
    first = codec.protect({"nik": nik}, "stream-a")["nik"]
    assert [row[0] for row in keys.unwritten()] == [subject_of_token(first)]  # the person's
    assert keys.discard_unwritten() == 1
    assert keys.unwritten() == []
    # the next save's keys are new ones: the codec no longer hands out the dropped subject
    again = codec.protect({"nik": nik}, "stream-a")["nik"]
    assert subject_of_token(again) != subject_of_token(first)
    assert [row[0] for row in keys.unwritten()] == [subject_of_token(again)]
    assert keys.discard_unwritten() == 1 and keys.discard_unwritten() == 0


def test_an_lru_discards_only_the_entries_named():
    cache = Lru(10)
    for n in range(5):
        cache.put(n, str(n))
    cache.discard([1, 3, 99])
    assert [cache.get(n) for n in range(5)] == ["0", None, "2", None, "4"]
    cache.clear()
    assert len(cache) == 0 and cache.maxsize == 10
    cache.put("a", 1)
    assert cache.get("a") == 1
