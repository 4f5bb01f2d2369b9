"""once.build_once: threads that ask at the same time get the one value built once."""
from __future__ import annotations

import threading

from functions.common.once import build_once


def test_threads_asking_together_get_the_one_value_built_once():
    builds = []
    release = threading.Event()
    arrived = threading.Condition()
    asking = [0]

    @build_once
    def value() -> object:
        builds.append(1)
        release.wait(5)  # the others ask while it is being built
        return object()

    got: list[object] = []

    def ask() -> None:
        with arrived:
            asking[0] += 1
            arrived.notify_all()
        got.append(value())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    with arrived:
        arrived.wait_for(lambda: asking[0] == 8, timeout=5)
    release.set()
    for t in threads:
        t.join(5)
    assert len(builds) == 1 and len(got) == 8 and len({id(v) for v in got}) == 1
    assert value() is got[0]
