"""write_group.WriteGroup: concurrent puts written together, each caller answered with its own
outcome."""
from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import EndpointConnectionError
from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PutError

from functions.common import dynamo
from functions.common.dynamo import Model, table_meta
from functions.common.write_group import WriteGroup


class Note(Model):
    Meta = table_meta("notify")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    text = UnicodeAttribute()


def on_batch_writes(handler):
    """Call `handler(params)` before each BatchWriteItem the models' client sends."""
    events = dynamo.client().meta.events
    events.register("before-parameter-build.dynamodb.BatchWriteItem", handler)
    return lambda: events.unregister("before-parameter-build.dynamodb.BatchWriteItem", handler)


@pytest.fixture
def writes(aws):
    """The BatchWriteItem calls made (their sizes); the first one takes 100 ms, so that
    everyone else arrives while it is being written."""
    sizes: list[int] = []

    def count(params, **_):
        sizes.append(sum(len(requests) for requests in params["RequestItems"].values()))
        if len(sizes) == 1:
            time.sleep(0.1)

    stop = on_batch_writes(count)
    yield sizes
    stop()


def save_together(group: WriteGroup, notes: list[Note]) -> list[Exception | None]:
    outcomes: list[Exception | None] = [None] * len(notes)
    start = threading.Barrier(len(notes))

    def save(i: int) -> None:
        start.wait()
        try:
            group.save(notes[i])
        except Exception as error:  # noqa: BLE001 - the test reads it
            outcomes[i] = error

    threads = [threading.Thread(target=save, args=(i,)) for i in range(len(notes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return outcomes


def stored(prefix: str) -> dict[str, str]:
    return {n.sk: n.text for n in Note.query(prefix)}


def test_puts_arriving_during_a_write_go_together_in_the_next(writes):
    notes = [Note("WG#a", f"n{i:02d}", text=f"第{i}条") for i in range(10)]
    assert save_together(WriteGroup(Note), notes) == [None] * 10
    assert writes == [1, 9]
    assert stored("WG#a") == {f"n{i:02d}": f"第{i}条" for i in range(10)}


def test_a_group_holds_at_most_25_puts(writes):
    notes = [Note("WG#b", f"n{i:02d}", text="x") for i in range(40)]
    assert save_together(WriteGroup(Note), notes) == [None] * 40
    assert writes[0] == 1 and max(writes) == 25 and sum(writes) == 40
    assert len(stored("WG#b")) == 40


def test_a_failed_write_is_raised_to_each_of_its_callers_and_the_group_goes_on(writes):
    group = WriteGroup(Note)

    def unavailable(params, **_):
        time.sleep(0.05)
        raise EndpointConnectionError(endpoint_url="http://dynamodb.unavailable")

    stop = on_batch_writes(unavailable)
    outcomes = save_together(group, [Note("WG#c", f"n{i}", text="x") for i in range(5)])
    assert [type(o) for o in outcomes] == [PutError] * 5
    assert {type(o.cause) for o in outcomes if isinstance(o, PutError)} == {EndpointConnectionError}
    assert stored("WG#c") == {}

    stop()
    group.save(Note("WG#c", "later", text="好"))
    assert stored("WG#c") == {"later": "好"}


def test_a_put_waits_for_the_puts_promised_beside_it(writes):
    group = WriteGroup(Note)
    promised = threading.Event()

    def sender() -> None:
        with group.promise():
            promised.set()
            time.sleep(0.01)  # its send, still under way when the other put arrives
            group.save(Note("WG#d", "late", text="后"))

    thread = threading.Thread(target=sender)
    thread.start()
    promised.wait(5)
    group.save(Note("WG#d", "early", text="先"))
    thread.join(5)
    assert writes == [2]
    assert stored("WG#d") == {"early": "先", "late": "后"}


def test_a_promise_not_kept_holds_puts_back_no_longer_than_the_linger(writes):
    group = WriteGroup(Note)
    promised, release = threading.Event(), threading.Event()

    def stuck_sender() -> None:
        with group.promise():
            promised.set()
            release.wait(5)  # its send never ends in a put

    thread = threading.Thread(target=stuck_sender)
    thread.start()
    promised.wait(5)
    group.save(Note("WG#e", "alone", text="独"))
    assert writes == [1] and not release.is_set()
    release.set()
    thread.join(5)
    group.save(Note("WG#e", "after", text="后"))
    assert writes == [1, 1]
    assert stored("WG#e") == {"alone": "独", "after": "后"}
