"""The key store: every data subject's key, in the store's database, under the master key.

One row per subject (`casework_personal_keys`): the pseudonymous subject id, the keyed
hash it is found by (the stream's id for a stream's own subject), and the subject's
AES-256 key wrapped under the master key (`CASEWORK_MASTER_KEY`). Erasure deletes the
wrapped key, on SQLite with `secure_delete` so the bytes are overwritten, and bumps
`casework_key_epoch` so every process drops the keys it cached within `EPOCH_SECONDS`.

The erased row keeps its keyed hash (the NIK's uniqueness claim, `domain.household.NikIndex`,
holds the same hash in its id and its events, so this keeps nothing the store did not hold):
it is the tombstone that refuses a new key for that identifier, whoever asks (a command, an
approval, an import, the seed; `domain.errors.Erased`), and the column's uniqueness refuses a
key another process made for it in a race, when its save writes it. An erased person's NIK
never gets a live key again, so no event can store it readably.

Without the master key the wrapped keys, and with them every personal field of every
event, cannot be read: back it up (README, "Master key").
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.codec import Wrapper
from adapters.db import Database
from adapters.lru import KEY_CACHE, Lru
from domain.errors import Erased

EPOCH_SECONDS = 1.0
_MISSING = object()

# Written in the events' own transaction; a lookup another process took raises (409).
INSERT_UNWRITTEN = (
    "INSERT INTO casework_personal_keys (subject, lookup, wrapped, created_at)"
    " VALUES (?, ?, ?, ?) ON CONFLICT (subject) DO NOTHING"
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class KeyStore:
    """`adapters.codec.KeyRing` on the store's database, with a cache per process of at most
    `cache_size` keys (the least recently used go first: `adapters.lru`)."""

    def __init__(self, db: Database, master_key: bytes, cache_size: int = KEY_CACHE) -> None:
        self.db = db
        self.wrapper = Wrapper(master_key)
        self._lock = threading.Lock()
        # subject -> its raw key (None once erased): 32 bytes, not the AESGCM object, which
        # holds an initialised cipher context of about 2.4 KB (measured); the codec keeps the
        # objects of the keys in use (`adapters.codec.HOT_KEYS`)
        self._keys = Lru(cache_size)
        self._epoch: int | None = None
        self._checked_at = 0.0
        self.listeners: list = []  # called with no argument when an erasure was seen
        self.write_with_events = False  # set once a recorder writes new keys with events
        self.insert_statement = db.sql(INSERT_UNWRITTEN)
        # lookup -> (subject, lookup, wrapped, created_at, raw key): created, not yet stored
        self._unwritten: dict[str, tuple[str, str, str, str, bytes]] = {}

    # --- cache -------------------------------------------------------------------------

    def fresh(self) -> None:
        """Drop cached keys when any process erased one since we last looked."""
        if time.monotonic() - self._checked_at < EPOCH_SECONDS:
            return
        epoch = self.erasures()
        self._checked_at = time.monotonic()
        if self._epoch is not None and epoch != self._epoch:
            self.forget()
        self._epoch = epoch

    def forget(self) -> None:
        """Drop every cached key (and tell the codecs to drop what they opened)."""
        self._keys.clear()
        for listener in self.listeners:
            listener()

    def _remember(self, subject: str, raw: bytes | None) -> None:
        self._keys.put(subject, raw)

    # --- KeyRing -------------------------------------------------------------------------

    def subjects_for(self, lookups: list[str]) -> dict[str, tuple[str, AESGCM]]:
        """Find or create the subjects of these lookup hashes.

        With `write_with_events` (the write side), new keys are only remembered here and
        written by the store's recorder in the transaction that stores the events using
        them (`adapters.db.open_casework`); otherwise in a transaction of their own."""
        self.fresh()
        if self.write_with_events:
            return self._subjects_deferred(lookups)
        made = {lookup: (secrets.token_hex(16), AESGCM.generate_key(256)) for lookup in lookups}
        now = _now()
        with self.db.transaction() as cur:
            cur.executemany(
                "INSERT INTO casework_personal_keys (subject, lookup, wrapped, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (lookup) DO NOTHING",
                [
                    (subject, lookup, self.wrapper.wrap(subject, raw), now)
                    for lookup, (subject, raw) in made.items()
                ],
            )
            marks = ",".join("?" * len(lookups))
            rows = cur.execute(
                "SELECT lookup, subject, wrapped FROM casework_personal_keys"
                f" WHERE lookup IN ({marks})",
                lookups,
            ).fetchall()
        if any(wrapped is None for _, _, wrapped in rows):
            raise Erased()  # an erased person's tombstone: no new key for them
        found = {}
        for lookup, subject, wrapped in rows:
            ours = made[lookup]
            raw = ours[1] if ours[0] == subject else self.wrapper.unwrap(subject, wrapped)
            self._remember(subject, raw)
            found[lookup] = (subject, AESGCM(raw))
        return found

    def _subjects_deferred(self, lookups: list[str]) -> dict[str, tuple[str, AESGCM]]:
        marks = ",".join("?" * len(lookups))
        rows = self.db.query(
            "SELECT lookup, subject, wrapped FROM casework_personal_keys"
            f" WHERE lookup IN ({marks})",
            lookups,
        )
        erased = [lookup for lookup, _, wrapped in rows if wrapped is None]
        if erased:
            with self._lock:  # a key made here before the erasure is never written now
                for lookup in erased:
                    self._unwritten.pop(lookup, None)
            raise Erased()  # an erased person's tombstone: no new key for them
        raws = {}
        for lookup, subject, wrapped in rows:
            raws[lookup] = (subject, self.wrapper.unwrap(subject, wrapped))
        now = _now()
        with self._lock:
            for lookup in lookups:
                if lookup in raws:
                    continue
                pending = self._unwritten.get(lookup)
                if pending is None:
                    subject, raw = secrets.token_hex(16), AESGCM.generate_key(256)
                    pending = (subject, lookup, self.wrapper.wrap(subject, raw), now, raw)
                    self._unwritten[lookup] = pending
                raws[lookup] = (pending[0], pending[4])
        found = {}
        for lookup, (subject, raw) in raws.items():
            self._remember(subject, raw)
            found[lookup] = (subject, AESGCM(raw))
        return found

    # --- new keys, written with the events that use them ------------------------------

    def unwritten(self) -> list[tuple[str, str, str, str]]:
        """Rows of the keys created here and not yet known to be stored. A save writes the
        ones its events use (`INSERT_UNWRITTEN`, `adapters.recorder`), so no event is ever
        stored without its key, and a key made for a command that was then refused is never
        written with another command's save (any thread's: the codecs share subjects between
        threads, so a pending key is written by whichever save first stores an event using
        it, and stays pending until then)."""
        with self._lock:
            return [row[:4] for row in self._unwritten.values()]

    def written(self, rows: list[tuple[str, str, str, str]]) -> None:
        """These rows were committed with a save."""
        with self._lock:
            for subject, lookup, *_ in rows:
                pending = self._unwritten.get(lookup)
                if pending is not None and pending[0] == subject:
                    del self._unwritten[lookup]

    def reconcile(self) -> None:
        """A save failed: if another process stored a different subject for one of our
        unwritten lookups meanwhile, ours is dropped (the command is answered 409 and its
        retry uses theirs)."""
        with self._lock:
            pending = list(self._unwritten.values())
        stale = False
        for subject, lookup, *_ in pending:
            row = self.db.query_one(
                "SELECT subject FROM casework_personal_keys WHERE lookup=?", (lookup,)
            )
            if row is not None and row[0] != subject:
                with self._lock:
                    self._unwritten.pop(lookup, None)
                stale = True
        if stale:
            self.forget()

    def discard_unwritten(self) -> int:
        """Drop every key created here and not stored yet, with what the caches remember of
        them (the codecs hand a cached subject out without asking here); answers how many.

        Only for a process whose one writing thread calls it once a unit of work ended
        without storing them (a seed's or a command-line import's batch or family refused, its
        save failed): another thread's events may use them. Kept, they would wait in memory
        (a save writes only the keys its events use), and a retry would reuse them."""
        with self._lock:
            dropped = [row[0] for row in self._unwritten.values()]
            self._unwritten.clear()
        if dropped:
            self._keys.discard(dropped)
            for listener in self.listeners:
                listener()
        return len(dropped)

    def key(self, subject: str) -> AESGCM | None:
        self.fresh()
        raw = self._keys.get(subject, _MISSING)
        if raw is _MISSING:
            row = self.db.query_one(
                "SELECT wrapped FROM casework_personal_keys WHERE subject=?", (subject,)
            )
            raw = self.wrapper.unwrap(subject, row[0]) if row and row[0] else None
            self._remember(subject, raw)
        return AESGCM(raw) if raw is not None else None

    def keys(self, subjects: list[str]) -> dict[str, AESGCM | None]:
        """The keys of these subjects: the ones not cached in one query per 500."""
        self.fresh()
        found: dict[str, AESGCM | None] = {}
        for subject in subjects:
            raw = self._keys.get(subject, _MISSING)
            if raw is not _MISSING:
                found[subject] = AESGCM(raw) if raw is not None else None
        missing = [s for s in subjects if s not in found]
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            rows = self.db.query(
                "SELECT subject, wrapped FROM casework_personal_keys"
                f" WHERE subject IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            wrapped = dict(rows)
            for subject in chunk:
                sealed = wrapped.get(subject)
                raw = self.wrapper.unwrap(subject, sealed) if sealed else None
                self._remember(subject, raw)
                found[subject] = AESGCM(raw) if raw is not None else None
        return found

    def subject_of(self, lookup: str) -> str | None:
        row = self.db.query_one(
            "SELECT subject FROM casework_personal_keys WHERE lookup=? AND wrapped IS NOT NULL",
            (lookup,),
        )
        return row[0] if row else None

    def erased(self, lookup: str) -> bool:
        """Whether the subject of this keyed hash was erased (its tombstone)."""
        row = self.db.query_one(
            "SELECT 1 FROM casework_personal_keys WHERE lookup=? AND wrapped IS NULL", (lookup,)
        )
        return row is not None

    def erase(self, subject: str) -> bool:
        """Destroy the subject's key: its tokens are ciphertext for ever after. The row and its
        keyed hash stay as the tombstone that refuses a new key for the same identifier."""
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE casework_personal_keys SET wrapped=NULL, erased_at=?"
                " WHERE subject=? AND wrapped IS NOT NULL",
                (_now(), subject),
            )
            erased = cur.rowcount == 1
            cur.execute(
                "INSERT INTO casework_key_epoch (name, epoch) VALUES ('keys', 1)"
                " ON CONFLICT (name) DO UPDATE SET epoch = casework_key_epoch.epoch + 1"
            )
        self.db.purge(["casework_personal_keys"])  # the wrapped key leaves the WAL too
        self._checked_at = 0.0
        self.forget()
        return erased

    def erasures(self) -> int:
        """A number that grows with every erasure any process made (`casework_key_epoch`): two
        readings differ when someone was erased between them."""
        row = self.db.query_one("SELECT epoch FROM casework_key_epoch WHERE name='keys'")
        return row[0] if row else 0

    def erased_at(self, subject: str) -> str | None:
        row = self.db.query_one(
            "SELECT erased_at FROM casework_personal_keys WHERE subject=?", (subject,)
        )
        return row[0] if row else None

    def preload(self) -> int:
        """Unwrap every live key at once (before a rebuild), as many as the cache holds (the
        most recently created kept when there are more); the number loaded."""
        loaded = 0
        # read in chunks: the city's million rows held whole as tuples raised the peak of a
        # process preloading them from 357 MB to 594 MB
        for rows in self.db.query_chunks(
            "SELECT subject, wrapped FROM casework_personal_keys WHERE wrapped IS NOT NULL"
            " ORDER BY created_at"
        ):
            for subject, wrapped in rows:
                self._remember(subject, self.wrapper.unwrap(subject, wrapped))
            loaded += len(rows)
        return loaded
