"""Daemons and leases: one holder at a time, renewed by its heartbeat, taken over when it stops beating."""
from concurrent.futures import ThreadPoolExecutor

from monitor.store.postgres import PostgresStore


def test_a_lease_has_one_holder_until_it_expires(store):
    store.register_daemon("a", "host1", 11, 100.0)
    store.register_daemon("b", "host2", 22, 100.0)
    assert store.take_lease("source:feed", "a", 100.0, 30) is True
    assert store.take_lease("source:feed", "b", 110.0, 30) is False     # a holds it
    assert store.take_lease("source:feed", "a", 110.0, 30) is True      # renewing is taking it again
    assert store.heartbeat("a", 135.0, 30) == ["source:feed"]           # the heartbeat renews it to 165
    assert store.take_lease("source:feed", "b", 160.0, 30) is False
    assert store.take_lease("source:feed", "b", 166.0, 30) is True      # a stopped beating: b takes over
    assert store.take_lease("source:feed", "a", 170.0, 30) is False
    assert store.heartbeat("a", 171.0, 30) == []                        # a learns it lost the lease
    held = {d["id"]: d["holds"] for d in store.daemons(since=0.0)}
    assert held == {"a": [], "b": ["source:feed"]}


def test_a_graceful_stop_gives_every_lease_back(store):
    store.register_daemon("a", "host1", 11, 100.0)
    store.take_lease("timer:escalation", "a", 100.0, 30)
    store.stop_daemon("a", 101.0)
    assert store.take_lease("timer:escalation", "b", 101.0, 30) is True
    a, = store.daemons(since=100.0)
    assert a["stopped_at"] == 101.0 and a["holds"] == []


def test_daemons_racing_for_the_same_leases_never_share_one(postgres_server):
    url = postgres_server.new_database()
    stores = [PostgresStore(url) for _ in range(4)]
    stores[0].migrate()
    names = [f"source:{n}" for n in range(50)]

    def grab(index: int) -> list[str]:
        return [name for name in names if stores[index].take_lease(name, f"d{index}", 100.0, 30)]
    with ThreadPoolExecutor(4) as pool:
        won = list(pool.map(grab, range(4)))
    assert sorted(sum(won, [])) == sorted(names)  # every lease taken, each by exactly one daemon
    for store in stores:
        store.close()


def test_the_census_counts_live_daemons_and_held_source_leases(store):
    store.register_daemon("a", "host1", 11, 100.0)
    store.register_daemon("b", "host2", 22, 100.0)
    store.register_daemon("gone", "host3", 33, 10.0)  # stopped beating long ago
    for n in range(3):
        store.take_lease(f"source:{n}", "a", 100.0, 30)
    store.take_lease("timer:escalation", "b", 100.0, 30)
    store.take_lease("source:old", "gone", 10.0, 30)  # expired
    assert store.lease_census(110.0, 30) == (2, 3)
    store.release_leases("a", ["source:0", "source:1"])
    assert store.lease_census(110.0, 30) == (2, 1)
    assert store.take_lease("source:0", "b", 111.0, 30) is True
