"""TopicCache: a miss loads once, a hit does not load, a change or the TTL drops the value."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from atende.ivr.ports import from_caches
from atende.services.cache import NotCached, TopicCache, cached_only


class Loader:
    """Counts loads; each returns (key, how many loads so far)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, key: str) -> tuple[str, int]:
        self.calls += 1
        return key, self.calls


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_miss_loads_once_and_hits_do_not_load() -> None:
    load = Loader()
    cache = TopicCache(load, ttl=60, clock=Clock())
    assert cache.get("a") == ("a", 1)
    assert cache.get("a") == ("a", 1)
    assert cache.get("b") == ("b", 2)
    assert load.calls == 2


def test_clear_and_discard_drop_values() -> None:
    load = Loader()
    cache = TopicCache(load, ttl=60, clock=Clock())
    cache.get("a"), cache.get("b")
    cache.discard("a")
    assert cache.get("b") == ("b", 2)
    assert cache.get("a") == ("a", 3)
    cache.clear()
    assert cache.get("a") == ("a", 4)
    assert cache.get("b") == ("b", 5)


def test_values_expire_after_the_ttl() -> None:
    load, clock = Loader(), Clock()
    cache = TopicCache(load, ttl=5, clock=clock)
    cache.get("a")
    clock.now += 4.9
    assert cache.get("a") == ("a", 1)
    clock.now += 0.2
    assert cache.get("a") == ("a", 2)


def test_a_failed_load_is_not_kept() -> None:
    attempts = []

    def load(key: str) -> str:
        attempts.append(key)
        if len(attempts) == 1:
            raise LookupError(key)
        return key.upper()

    cache = TopicCache(load, ttl=60, clock=Clock())
    with pytest.raises(LookupError):
        cache.get("a")
    assert cache.get("a") == "A"
    assert cache.get("a") == "A"
    assert attempts == ["a", "a"]


def test_past_max_entries_the_oldest_key_goes() -> None:
    load = Loader()
    cache = TopicCache(load, ttl=60, clock=Clock(), max_entries=2)
    cache.get("a"), cache.get("b"), cache.get("c")
    assert cache.get("c") == ("c", 3)
    assert cache.get("b") == ("b", 2)
    assert cache.get("a") == ("a", 4)


def test_concurrent_misses_load_once() -> None:
    release = threading.Event()
    started = threading.Event()
    calls = []

    def load(key: str) -> str:
        calls.append(key)
        started.set()
        release.wait(5)
        return key.upper()

    cache = TopicCache(load, ttl=60, clock=Clock())
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("a"))) for _ in range(8)]
    threads[0].start()
    started.wait(5)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.05)  # let them reach the pending load (if not, they hit the kept value)
    release.set()
    for thread in threads:
        thread.join(5)
    assert results == ["A"] * 8
    assert calls == ["a"]


@pytest.mark.parametrize("change", ["clear", "discard"])
def test_a_load_overlapping_a_change_is_returned_but_not_kept(change: str) -> None:
    """The load may have read the data before the change: the next get reads it again."""
    cache: TopicCache[str, tuple[str, int]]
    load = Loader()

    def changing_meanwhile(key: str) -> tuple[str, int]:
        value = load(key)
        if load.calls == 1:  # the change commits while the first load is reading
            cache.clear() if change == "clear" else cache.discard(key)
        return value

    cache = TopicCache(changing_meanwhile, ttl=60, clock=Clock())
    assert cache.get("a") == ("a", 1)
    assert cache.get("a") == ("a", 2)
    assert cache.get("a") == ("a", 2)


def test_cached_only_answers_hits_and_refuses_a_load() -> None:
    load = Loader()
    clock = Clock()
    cache = TopicCache(load, ttl=60, clock=clock)
    cache.get("a")
    with cached_only():
        assert cache.get("a") == ("a", 1)
        with pytest.raises(NotCached):
            cache.get("b")
        clock.now += 61  # expired: a load again
        with pytest.raises(NotCached):
            cache.get("a")
    assert load.calls == 1
    assert cache.get("a") == ("a", 2)  # outside, a miss loads as before


def test_from_caches_reads_on_the_loop_when_cached_else_in_a_thread() -> None:
    load = Loader()
    cache = TopicCache(load, ttl=60, clock=Clock())
    threads: list[str] = []

    def read() -> tuple[str, int]:
        threads.append(threading.current_thread().name)
        return cache.get("a")

    async def twice() -> list[tuple[str, int]]:
        return [await from_caches(read), await from_caches(read)]

    loop_thread = threading.current_thread().name
    assert asyncio.run(twice()) == [("a", 1), ("a", 1)]
    # first: refused on the loop, loaded in a worker thread; second: answered on the loop
    assert threads[0] == loop_thread and threads[1] != loop_thread
    assert threads[2] == loop_thread and len(threads) == 3
    assert load.calls == 1
