"""The server's per-process caches (credentials, assistants, end users) hold what was put in
the last ``ttl`` seconds and no more: a server that meets a new end user every few requests
must not keep every one it ever met."""

from __future__ import annotations

import pytest

from thumbs.kit import cache as cache_module
from thumbs.kit.cache import TTLCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(cache_module.time, "monotonic", clock)
    return clock


def test_an_entry_is_served_until_its_ttl_has_passed(clock: Clock) -> None:
    cache = TTLCache(ttl=30)
    cache.put("U1", 7)
    clock.now += 30
    assert cache.get("U1") == 7
    clock.now += 0.5
    assert cache.get("U1") is None


def test_expired_entries_leave_the_map_as_new_ones_come(clock: Clock) -> None:
    cache = TTLCache(ttl=30)
    for i in range(5_000):
        cache.put(("account", f"user-{i}"), i)
    assert len(cache) == 5_000
    clock.now += 31
    cache.put(("account", "user-new"), -1)
    assert len(cache) == 1
    assert cache.get(("account", "user-new")) == -1


def test_a_put_again_renews_the_entry_and_its_place(clock: Clock) -> None:
    cache = TTLCache(ttl=30)
    cache.put("a", 1)
    cache.put("b", 2)
    clock.now += 20
    cache.put("a", 3)  # expires 30 s from now, after b
    clock.now += 15
    cache.put("c", 4)
    assert cache.get("b") is None
    assert cache.get("a") == 3
    assert len(cache) == 2


def test_beyond_max_items_the_oldest_leave_first(clock: Clock) -> None:
    cache = TTLCache(ttl=30, max_items=3)
    for key in "abcd":
        cache.put(key, key.upper())
        clock.now += 1
    assert len(cache) == 3
    assert cache.get("a") is None
    assert [cache.get(k) for k in "bcd"] == ["B", "C", "D"]


def test_a_zero_ttl_caches_nothing(clock: Clock) -> None:
    cache = TTLCache(ttl=0)
    cache.put("a", 1)
    assert cache.get("a") is None
    assert len(cache) == 0
