"""write_group.WriteGroup: concurrent puts written together, each caller answered with its own
outcome."""
from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from botocore.exceptions import EndpointConnectionError
from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PutError

from functions.common import aws as common_aws
from functions.common.dynamo import Model, table_meta
from functions.common.write_group import WriteGroup
from tests.eventually import eventually


class Note(Model):
    Meta = table_meta("notify")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    text = UnicodeAttribute()


class Writes(list):
    """The sizes of the BatchWriteItem calls made. `started` is set once the first call has
    begun; with `hold_first(until)` it is not sent before `until()` holds, so the puts made
    meanwhile arrive while it is being written. `error`: what every call raises instead."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.until: Callable[[], bool] | None = None
        self.error: Exception | None = None

    def hold_first(self, until: Callable[[], bool]) -> None:
        self.until = until

    def made(self, size: int) -> None:
        self.append(size)
        if len(self) == 1:
            self.started.set()
            if self.until is not None:
                eventually(self.until, "the puts that arrived during the first write, waiting")
        if self.error is not None:
            raise self.error


@pytest.fixture
def writes(aws):
    """Sees each BatchWriteItem the models' client sends, before it is sent."""
    sizes = Writes()

    def before(params, **_):
        sizes.made(sum(len(requests) for requests in params["RequestItems"].values()))

    events = common_aws.dynamodb().meta.events
    events.register("before-parameter-build.dynamodb.BatchWriteItem", before)
    yield sizes
    events.unregister("before-parameter-build.dynamodb.BatchWriteItem", before)


def save_during_the_first_write(group: WriteGroup, notes: list[Note], writes: Writes) -> list[Exception | None]:
    """Save the first note, then the others, each in a thread of its own, once the first is
    being written; returns each save's outcome."""
    outcomes: list[Exception | None] = [None] * len(notes)

    def save(i: int) -> None:
        try:
            group.save(notes[i])
        except Exception as error:  # noqa: BLE001 - the test reads it
            outcomes[i] = error

    threads = [threading.Thread(target=save, args=(i,)) for i in range(len(notes))]
    threads[0].start()
    assert writes.started.wait(10)
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join(10)
    return outcomes


def stored(prefix: str) -> dict[str, str]:
    return {n.sk: n.text for n in Note.query(prefix)}


def test_puts_arriving_during_a_write_go_together_in_the_next(writes):
    group = WriteGroup(Note)
    writes.hold_first(lambda: group.waiting == 9)
    notes = [Note("WG#a", f"n{i:02d}", text=f"第{i}条") for i in range(10)]
    assert save_during_the_first_write(group, notes, writes) == [None] * 10
    assert writes == [1, 9]
    assert stored("WG#a") == {f"n{i:02d}": f"第{i}条" for i in range(10)}


def test_a_group_holds_at_most_25_puts(writes):
    group = WriteGroup(Note)
    writes.hold_first(lambda: group.waiting == 39)
    notes = [Note("WG#b", f"n{i:02d}", text="x") for i in range(40)]
    assert save_during_the_first_write(group, notes, writes) == [None] * 40
    assert writes == [1, 25, 14]
    assert len(stored("WG#b")) == 40


def test_a_failed_write_is_raised_to_each_of_its_callers_and_the_group_goes_on(writes):
    group = WriteGroup(Note)
    writes.error = EndpointConnectionError(endpoint_url="http://dynamodb.unavailable")
    writes.hold_first(lambda: group.waiting == 4)
    outcomes = save_during_the_first_write(group, [Note("WG#c", f"n{i}", text="x") for i in range(5)], writes)
    assert writes == [1, 4]
    assert [type(o) for o in outcomes] == [PutError] * 5
    assert {type(o.cause) for o in outcomes if isinstance(o, PutError)} == {EndpointConnectionError}
    assert stored("WG#c") == {}

    writes.error = None
    group.save(Note("WG#c", "later", text="好"))
    assert stored("WG#c") == {"later": "好"}


def test_a_put_waits_for_the_puts_promised_beside_it(writes):
    group = WriteGroup(Note)
    group.LINGER_S = 10.0  # however slow the machine, the promised put comes before the linger ends
    promised = threading.Event()

    def sender() -> None:
        with group.promise():
            promised.set()
            eventually(lambda: group.waiting == 1, "the other put, waiting")  # this send is still under way
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
