"""The streams a rebuild has seen (`consumers.runner.SeenStreams`): a stream is new once; a
stream seen before is never taken as new (its tracking would be written twice)."""

from __future__ import annotations

import uuid

from consumers.runner import SeenStreams


def test_a_stream_is_new_once_and_never_again():
    seen = SeenStreams()
    first = [str(uuid.UUID(int=n)) for n in range(20_000)]
    assert seen.first_seen([*first[:10], first[0]]) == set(first[:10])
    assert seen.first_seen(first[:10]) == set()
    new = seen.first_seen(first)
    assert new <= set(first[10:])
    # a stream sharing its bit with one seen is looked up, a few of 20,000 at most
    assert len(new) >= len(first) - 10 - 20
    assert seen.first_seen(first) == set()
