"""Personal data in events: per-person encryption (crypto-shredding) and keyed lookups.

Every personal field of a stored event is replaced by a *token*, the field's value
encrypted (AES-256-GCM) with the key of the data subject it belongs to:

    pd1.<subject>.<kind>.<base64url(nonce | ciphertext)>

`subject` is a pseudonymous id (random, 32 hex digits) with no relation to the NIK;
`kind` is `n` for a NIK, `k` for a KK number, `s` for text, `d` for a date and `v` for
any other JSON value; the ciphertext is standard base64 (JSON-safe). Tokens are plain
strings, so they can stand as dict keys (household members are keyed by NIK) and travel
unchanged through the store, Kafka and anything that copies the event.

Whose key encrypts a field:
- an identifier field (`nik`, `*_nik`, or any 16-digit string, key or value) is
  encrypted with the key of that NIK's own subject; `kk_number` fields with the key of
  the KK number's subject (the family's);
- other personal fields (`PERSONAL_FIELDS`) with the key of the nearest enclosing dict's
  person (`nik`, else the first `*_nik` field), or, when there is none, the stream's own
  subject (a household's address and case notes, a homeless person's description).

Subjects and keys live in a `KeyRing`: the store's key table in production
(`adapters.keystore`), memory in unit tests. A subject for a NIK is found by a keyed
hash (HMAC-SHA256 under a secret derived from the master key), never by the NIK itself.
Erasure destroys the subject's key: its tokens then reveal as markers, `erased:<subject>`
for an identifier (still unique, so the household keeps its shape) and `ERASED` or
None (for dates) for the rest.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Cipher, Compressor, Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic

from adapters.lru import KEY_CACHE, Lru
from domain.errors import Erased
from domain.personal_data import (  # noqa: F401 - re-exported for the read side
    DATE_FIELDS,
    ERASED,
    ERASED_ID,
    KK_FIELDS,
    PERSONAL_FIELDS,
    PREFIX,
    is_erased,
    protected_topic,
)

_SPECIAL = PERSONAL_FIELDS | KK_FIELDS
_MISSING = object()
_PLACEHOLDER = ("0" * 32, AESGCM(bytes(32)))  # while collecting owners: never stored
# Opened values kept per process (token -> value), least recently used evicted first.
_OPENED_LIMIT = 200_000
# Keyed hashes remembered by what they hash: a name's words and prefixes recur across the city
# (Siti, Muhammad, Nur, ...) and a person's NIK in each of their events, and a hash costs an
# HMAC (about 3 us) where a remembered one costs a tenth of that.
_LOOKUP_LIMIT = 65_536
# The keys in use, as AESGCM objects (each holds an initialised cipher context: about 2.4 KB,
# measured): at most this many per cache, the least recently used dropped first. The key
# store keeps the raw keys of the whole city (`adapters.lru.KEY_CACHE`), so a key dropped
# here costs one AESGCM construction (about 2 µs) when it is used again, not a query.
HOT_KEYS = 50_000
_REVEALED_BUDGET = 64 * 1024 * 1024  # bytes of stored + revealed JSON kept per process
_CONTAINERS = (dict, list, str, tuple)
_TOKEN = re.compile(rb'"(pd1\.[0-9a-f]{32}\.[nksdv]\.[A-Za-z0-9+/=]+)"')
_IDENTIFIER_KINDS = {"n": "nik", "k": "kk"}
_TOKEN_SUBJECT = re.compile(rb'"pd1\.([0-9a-f]{32})\.[nksdv]\.')


def subjects_in(states: Iterable[bytes]) -> set[str]:
    """The subjects whose keys the tokens of these stored states (JSON) were sealed with."""
    found: set[bytes] = set()
    for state in states:
        if b'"pd1.' in state:
            found.update(_TOKEN_SUBJECT.findall(state))
    return {subject.decode() for subject in found}


class _NoncePool:
    """96-bit random nonces for AES-GCM, cut from one large read of the OS's CSPRNG
    (one system call per 340 nonces instead of one each)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._at = 0

    def __call__(self) -> bytes:
        with self._lock:
            if self._at + 12 > len(self._pool):
                self._pool, self._at = os.urandom(4080), 0
            nonce = self._pool[self._at : self._at + 12]
            self._at += 12
            return nonce


_nonce = _NoncePool()


def _is_nik(value: Any) -> bool:
    """A 16-digit string: a NIK (or a KK number), wherever it occurs."""
    return isinstance(value, str) and len(value) == 16 and value.isdigit() and value.isascii()


_LOOKUP_CONTEXT = b"casework personal-data lookup v1"
_WRAP_CONTEXT = b"casework key wrapping v1"


class MasterKeyError(ValueError):
    """The master key is missing or not 32 bytes (64 hex digits or base64)."""


class WrongMasterKey(Exception):
    """A person's key in the store does not unwrap under the master key given: another key
    than the one the store's keys were wrapped with (or that key's row was altered). No
    ValueError: nothing that reads a malformed value as absent may take it for one."""


def parse_master_key(raw: str) -> bytes:
    """The 32-byte master key from its text form: 64 hex digits or base64 of 32 bytes."""
    text = raw.strip()
    try:
        key = bytes.fromhex(text) if re.fullmatch(r"[0-9a-fA-F]{64}", text) else b""
        if not key:
            key = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise MasterKeyError("must be 32 random bytes as 64 hex digits or base64")
    return key


def new_master_key() -> str:
    """A fresh master key in its text form (64 hex digits)."""
    return secrets.token_hex(32)


class Wrapper:
    """Encrypts personal keys under the master key (AES-256-GCM, the subject as AAD)."""

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(hmac.new(master_key, _WRAP_CONTEXT, hashlib.sha256).digest())
        lookup_key = hmac.new(master_key, _LOOKUP_CONTEXT, hashlib.sha256).digest()
        self._lookup = hmac.new(lookup_key, digestmod=hashlib.sha256)  # keyed once, copied

    def lookup(self, kind: str, value: str) -> str:
        """The keyed hash of an identifier (`kind` is `nik` or `kk`), or of a name's word
        (`name`, for the register's search): 64 hex digits."""
        mac = self._lookup.copy()
        mac.update(f"{kind}:{value}".encode())
        return mac.hexdigest()

    def wrap(self, subject: str, key: bytes) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, key, subject.encode())
        return base64.b64encode(nonce + sealed).decode()

    def unwrap(self, subject: str, wrapped: str) -> bytes:
        raw = base64.b64decode(wrapped)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], subject.encode())
        except InvalidTag:
            raise WrongMasterKey(
                "a person's key in the store does not unwrap under it: it is not the master"
                " key the store's keys were made with (README, Master key)"
            ) from None


class KeyRing(Protocol):
    """Where subjects and their keys live."""

    wrapper: Wrapper

    def subjects_for(self, lookups: list[str]) -> dict[str, tuple[str, AESGCM]]:
        """The subject (and its key) of each lookup hash, created when new, all at once."""

    def key(self, subject: str) -> AESGCM | None:
        """The subject's key; None once it was erased (or never existed)."""

    def keys(self, subjects: list[str]) -> dict[str, AESGCM | None]:
        """The keys of these subjects (None for an erased one), all at once."""

    def erase(self, subject: str) -> bool:
        """Destroy the subject's key; False when it was already gone."""

    def subject_of(self, lookup: str) -> str | None:
        """The live subject for this lookup hash, without creating one."""

    def erased(self, lookup: str) -> bool:
        """Whether the subject of this lookup hash was erased: `subjects_for` refuses it
        (`domain.errors.Erased`), for good."""


class MemoryKeyRing:
    """A key ring in memory (unit tests and benchmarks), under a random master key."""

    def __init__(self, master_key: bytes | None = None) -> None:
        self.wrapper = Wrapper(master_key or os.urandom(32))
        self._by_lookup: dict[str, str] = {}
        self._keys: dict[str, AESGCM] = {}
        self._erased: set[str] = set()  # the lookups of erased subjects (their tombstones)
        self._lock = threading.Lock()

    def subject_for(self, lookup: str) -> tuple[str, AESGCM]:
        with self._lock:
            if lookup in self._erased:
                raise Erased()
            subject = self._by_lookup.get(lookup)
            if subject is None or subject not in self._keys:
                subject = secrets.token_hex(16)
                self._by_lookup[lookup] = subject
                self._keys[subject] = AESGCM(AESGCM.generate_key(256))
            return subject, self._keys[subject]

    def subjects_for(self, lookups: list[str]) -> dict[str, tuple[str, AESGCM]]:
        return {lookup: self.subject_for(lookup) for lookup in lookups}

    def key(self, subject: str) -> AESGCM | None:
        return self._keys.get(subject)

    def keys(self, subjects: list[str]) -> dict[str, AESGCM | None]:
        return {subject: self._keys.get(subject) for subject in subjects}

    def erase(self, subject: str) -> bool:
        with self._lock:
            for lookup in [k for k, s in self._by_lookup.items() if s == subject]:
                del self._by_lookup[lookup]
                self._erased.add(lookup)
            return self._keys.pop(subject, None) is not None

    def subject_of(self, lookup: str) -> str | None:
        subject = self._by_lookup.get(lookup)
        return subject if subject in self._keys else None

    def erased(self, lookup: str) -> bool:
        return lookup in self._erased


class Revealed(str):
    """A revealed identifier: the NIK or KK number (or its erasure marker) that still knows
    its token, its subject and its keyed hash (None once erased).

    Read models store the token (to show the number to those allowed) and the keyed hash
    (to find it), never the number in clear.
    """

    token: str
    subject: str
    keyed_hash: str | None


def subject_of_token(token: str) -> str | None:
    if not token.startswith(PREFIX):
        return None
    return token[len(PREFIX) :].split(".", 1)[0]


class Codec:
    """Encrypts an event's personal fields into tokens, and reveals tokens again."""

    def __init__(self, ring: KeyRing, remember: bool = True, key_cache: int = KEY_CACHE) -> None:
        """`remember`: keep opened values (the write side reads the same events again and
        again); a reader that sees each token once (a projection runner) passes False.
        `key_cache` (CASEWORK_KEY_CACHE) bounds the key objects kept here too, at most
        HOT_KEYS; each cache here drops its least recently used entries when full
        (`adapters.lru`), never all at once."""
        self.ring = ring
        self._remember = remember
        hot = min(key_cache, HOT_KEYS)
        # owner (kind, value) -> (subject, key)
        self._subjects = Lru(hot)
        self._needed: set[tuple[str, str]] = set()  # owners without a cached subject
        self._protecting = threading.Lock()
        # token -> value: loading a household reads its whole history again and again
        self._opened = Lru(_OPENED_LIMIT)
        # stored JSON -> revealed JSON, within the budget of bytes: the revealed JSON is
        # counted (`getsizeof=len`), the stored one is about as long, so half the budget each
        self._revealed = Lru(_REVEALED_BUDGET // 2, getsizeof=len)
        self._aeads = Lru(hot)  # subject -> its key (None once erased)
        self._last_key: tuple[str, AESGCM | None] = ("", None)  # the one `_open` used last
        # (kind, value) -> its keyed hash (`lookup`), the least recently used forgotten first
        self._lookups = functools.lru_cache(maxsize=_LOOKUP_LIMIT)(ring.wrapper.lookup)
        self._fresh: Callable[[], None] | None = getattr(ring, "fresh", None)
        listeners = getattr(ring, "listeners", None)
        if listeners is not None:
            listeners.append(self.forget)  # another process erased someone: drop it all

    # --- lookups -----------------------------------------------------------------------

    def lookup(self, kind: str, value: str) -> str:
        """The keyed hash of an identifier or a name's term (`Wrapper.lookup`), remembered."""
        return self._lookups(kind, value)

    def subject_of(self, lookup: str) -> str | None:
        return self.ring.subject_of(lookup)

    def erased(self, lookup: str) -> bool:
        return self.ring.erased(lookup)

    def erase(self, subject: str) -> None:
        self.ring.erase(subject)
        self.forget()

    def load_keys(self, tokens: Iterable[str | None]) -> None:
        """Fetch the keys of these tokens' subjects at once (one look-up in the key store), so
        that opening the tokens after it asks for none (a page of a view's rows)."""
        if self._fresh is not None:
            self._fresh()
        wanted = {
            token[4:36]
            for token in tokens
            if token and token[:4] == PREFIX and len(token) >= 40 and token[36] == "."
        }
        wanted = self._aeads.missing(wanted)
        if not wanted:
            return
        self._aeads.update(self.ring.keys(sorted(wanted)))

    def mapper(self, mapper: Mapper) -> Mapper:
        """The application's mapper, storing personal fields as tokens (with the configured
        compressor and cipher on top)."""
        return PersonalDataMapper(
            transcoder=mapper.transcoder,
            codec=self,
            compressor=mapper.compressor,
            cipher=mapper.cipher,
        )

    def _subject(self, kind: str, value: str) -> tuple[str, AESGCM]:
        cached = self._subjects.get((kind, value))
        if cached is None:
            self._needed.add((kind, value))
            return _PLACEHOLDER
        return cached

    def _fetch(self, owners: set[tuple[str, str]]) -> None:
        """Find or create the subjects of these owners, all in one transaction."""
        lookups = {
            (value if kind == "stream" else self.lookup(kind, value)): (kind, value)
            for kind, value in owners
        }
        found = self.ring.subjects_for(list(lookups))
        self._subjects.update({owner: found[lookup] for lookup, owner in lookups.items()})

    def forget(self) -> None:
        """Drop cached subjects and values (after an erasure anywhere), and the values whose
        keyed hashes were remembered."""
        self._last_key = ("", None)
        self._lookups.cache_clear()
        self._subjects.clear()
        self._opened.clear()
        self._aeads.clear()
        self._revealed.clear()

    # --- protect ---------------------------------------------------------------------

    def _seal(self, owner: tuple[str, str], kind: str, plain: bytes) -> str:
        subject, aead = self._subject(*owner)
        if self._needed:
            return ""  # collecting owners to fetch: this walk's output is thrown away
        nonce = _nonce()
        sealed = aead.encrypt(nonce, plain, f"{subject}.{kind}".encode())
        body = binascii.b2a_base64(nonce + sealed, newline=False).decode()
        return f"{PREFIX}{subject}.{kind}.{body}"

    def _identifier(self, kind: str, value: str) -> str:
        return self._seal((kind, value), "n" if kind == "nik" else "k", value.encode())

    def protect(self, state: dict[str, Any], stream: str) -> dict[str, Any]:
        """A copy of an event's state with every personal field a token."""
        with self._protecting:  # `_needed` is shared: one protect at a time
            return self._protect(state, stream)

    def _protect(self, state: dict[str, Any], stream: str) -> dict[str, Any]:
        needed = self._needed = set()
        protected = self._walk(state, ("stream", stream))
        if not needed:
            return protected
        # Someone new: their subjects are fetched (or made) together, then sealed for real.
        self._fetch(needed)
        needed.clear()
        protected = self._walk(state, ("stream", stream))
        if needed:
            raise RuntimeError("a data subject was not found or made by the key store")
        return protected

    def _owner(self, value: dict[str, Any], owner: tuple[str, str]) -> tuple[str, str]:
        nik = value.get("nik")
        if type(nik) is str or isinstance(nik, str):
            if _is_nik(nik):
                return ("nik", nik)
            if nik.startswith(ERASED_ID):
                return ("erased", nik)
        for key, item in value.items():
            if key[-4:] == "_nik" and isinstance(item, str) and _is_nik(item):
                return ("nik", item)
        return owner

    def _walk(self, value: Any, owner: tuple[str, str]) -> Any:
        kind = type(value)
        if kind is dict:
            owner = self._owner(value, owner)
            out = {}
            for key, item in value.items():
                if _is_nik(key):
                    out[self._identifier("nik", key)] = self._walk(item, ("nik", key))
                elif key in _SPECIAL:
                    out[key] = self._field(key, item, owner)
                elif type(item) is str:
                    if item[:4] == PREFIX:
                        raise ValueError(f"{key}: a personal-data token cannot be stored as input")
                    out[key] = self._identifier("nik", item) if _is_nik(item) else item
                else:
                    out[key] = self._walk(item, owner) if type(item) in _CONTAINERS else item
            return out
        if kind is list:
            return [self._walk(item, owner) for item in value]
        if kind is str or isinstance(value, str):
            if value[:4] == PREFIX:
                raise ValueError("a personal-data token cannot be stored as input")
            return self._identifier("nik", value) if _is_nik(value) else value
        if kind is tuple:
            return [self._walk(item, owner) for item in value]
        return value

    def _field(self, key: str, item: Any, owner: tuple[str, str]) -> Any:
        if key in KK_FIELDS:
            if isinstance(item, str) and item.startswith(PREFIX):
                raise ValueError(f"{key}: a personal-data token cannot be stored as input")
            return self._identifier("kk", item) if isinstance(item, str) and item else item
        if item is None or owner[0] == "erased" or item == ERASED:
            return item  # nothing, or erased already: nothing left to protect
        if isinstance(item, str):
            if item.startswith(PREFIX):
                raise ValueError(f"{key}: a personal-data token cannot be stored as input")
            token = self._seal(owner, "d" if key in DATE_FIELDS else "s", item.encode())
            if token:
                self._opened.put(token, item)  # the next load of this event needs no decryption
            return token
        if type(item) in (dict, list, tuple):
            # e.g. a snapshot's case notes: each one's text is sealed, not the whole list
            return self._walk(item, owner)
        return self._seal(owner, "v", json.dumps(item, separators=(",", ":")).encode())

    # --- reveal ----------------------------------------------------------------------

    def reveal(self, value: Any) -> Any:
        """A copy with every token decrypted, or replaced by its erasure marker."""
        kind = type(value)
        if kind is str:
            return self.open(value) if value[:4] == PREFIX else value
        if kind is dict:
            out = {}
            for key, item in value.items():
                if type(key) is str and key[:4] == PREFIX:
                    key = self.open(key)
                kind = type(item)
                if kind is str:
                    out[key] = self.open(item) if item[:4] == PREFIX else item
                elif kind is dict or kind is list:
                    out[key] = self.reveal(item)
                else:
                    out[key] = item
            return out
        if kind is list:
            return [self.reveal(item) for item in value]
        if isinstance(value, str) and value.startswith(PREFIX):  # a str subclass
            return self.open(value)
        return value

    def reveal_json(self, raw: bytes) -> bytes:
        """Stored JSON with every token replaced by the JSON of its value (or marker): what
        the mapper decodes, without walking the decoded structure."""
        if b'"pd1.' not in raw:
            return raw
        return _TOKEN.sub(self._json_value, raw)

    def reveal_stored(self, raw: bytes) -> bytes:
        """`reveal_json`, remembered: a command loads the household's whole history, so
        the same stored events are revealed again and again (emptied by `forget`)."""
        if self._fresh is not None:
            self._fresh()
        revealed = self._revealed.get(raw)
        if revealed is None:
            revealed = self.reveal_json(raw)
            if len(raw) + len(revealed) <= _REVEALED_BUDGET // 8:
                self._revealed.put(raw, revealed)
        return revealed

    def _json_value(self, match: re.Match) -> bytes:
        value = self.open(match.group(1).decode())
        return json.dumps(value if not isinstance(value, Revealed) else str(value)).encode()

    def open(self, token: str) -> Any:
        """The value of one token (a `Revealed` for identifiers), or its erasure marker."""
        if self._fresh is not None:
            self._fresh()  # an erasure elsewhere empties the caches
        if not self._remember:
            return self._open(token)
        value = self._opened.get(token, _MISSING)
        if type(value) in (dict, list):
            return copy.deepcopy(value)
        if value is _MISSING:
            value = self._open(token)
            self._opened.put(token, value)
        return value

    def _open(self, token: str) -> Any:
        # pd1.<32 hex>.<kind>.<base64>: fixed offsets; the AAD is "<subject>.<kind>"
        if len(token) < 40 or token[36] != "." or token[38] != ".":
            return token  # not one of ours: leave it as it is
        subject, kind = token[4:36], token[37]
        try:
            raw = binascii.a2b_base64(token[39:])
        except binascii.Error:
            return token
        last = self._last_key  # a person's tokens come together: their key, kept at hand
        if last[0] == subject:
            aead = last[1]
        else:
            aead = self._aeads.get(subject, _MISSING)
            if aead is _MISSING:
                aead = self.ring.key(subject)
                self._aeads.put(subject, aead)
            self._last_key = (subject, aead)
        plain = None
        if aead is not None:
            plain = aead.decrypt(raw[:12], raw[12:], token[4:38].encode()).decode()
        if kind in _IDENTIFIER_KINDS:
            if plain is None:
                revealed = Revealed(f"{ERASED_ID}{subject}")
                revealed.keyed_hash = None
            else:
                revealed = Revealed(plain)
                revealed.keyed_hash = self.lookup(_IDENTIFIER_KINDS[kind], plain)
            revealed.token = token
            revealed.subject = subject
            return revealed
        if plain is None:
            return None if kind == "d" else ERASED
        if kind == "v":
            return json.loads(plain)
        return plain


class PersonalDataMapper(Mapper):
    """The eventsourcing mapper that stores personal fields as tokens (see module doc).

    Events are protected before transcoding and revealed before decoding (upcasting never
    reads personal fields), so the domain sees clear values, or erasure markers, and the
    store holds only tokens. A configured compressor and cipher apply on top, as usual.
    """

    def __init__(
        self,
        transcoder: Transcoder,
        codec: Codec,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
    ) -> None:
        super().__init__(transcoder=transcoder, compressor=compressor, cipher=cipher)
        self.codec = codec

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        topic = get_topic(domain_event.__class__)
        if not protected_topic(topic):
            return super().to_stored_event(domain_event)
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        stored_state = self.transcoder.encode(self.codec.protect(event_state, str(originator_id)))
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        if self.cipher or self.compressor:
            state = stored_event.state
            if self.cipher:
                state = self.cipher.decrypt(state)
            if self.compressor:
                state = self.compressor.decompress(state)
            plain = Mapper(transcoder=self.transcoder)  # the rest, on the opened state
            return plain.to_domain_event(self._revealed(stored_event, state))
        return super().to_domain_event(self._revealed(stored_event, stored_event.state))

    def _revealed(self, stored_event: StoredEvent, state: bytes) -> StoredEvent:
        if b'"pd1.' in state:
            state = self.codec.reveal_stored(state)
        elif state is stored_event.state:
            return stored_event
        return StoredEvent(
            originator_id=stored_event.originator_id,
            originator_version=stored_event.originator_version,
            topic=stored_event.topic,
            state=state,
        )
