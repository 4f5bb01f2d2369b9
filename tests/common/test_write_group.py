"""dynamo.WriteGroup: concurrent puts written together, each caller answered with its own
outcome."""
from __future__ import annotations

import threading
import time

import pytest
from pynamodb.attributes import UnicodeAttribute
from pynamodb.connection.table import TableConnection
from pynamodb.exceptions import PutError

from functions.common.dynamo import Model, WriteGroup, table_meta


class Note(Model):
    Meta = table_meta("notify")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    text = UnicodeAttribute()


@pytest.fixture
def writes(aws, monkeypatch):
    """The BatchWriteItem calls made (their sizes); the first one takes 100 ms, so that
    everyone else arrives while it is being written."""
    sizes: list[int] = []
    real = TableConnection.batch_write_item

    def batch_write_item(self, put_items=None, delete_items=None, **kwargs):
        sizes.append(len(put_items or []))
        if len(sizes) == 1:
            time.sleep(0.1)
        return real(self, put_items=put_items, delete_items=delete_items, **kwargs)

    monkeypatch.setattr(TableConnection, "batch_write_item", batch_write_item)
    return sizes


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


def test_a_failed_write_is_raised_to_each_of_its_callers_and_the_group_goes_on(writes, monkeypatch):
    group = WriteGroup(Note)
    working = TableConnection.batch_write_item

    def unavailable(self, put_items=None, delete_items=None, **kwargs):
        time.sleep(0.05)
        raise PutError("service unavailable")

    monkeypatch.setattr(TableConnection, "batch_write_item", unavailable)
    outcomes = save_together(group, [Note("WG#c", f"n{i}", text="x") for i in range(5)])
    assert [str(o) for o in outcomes] == ["service unavailable"] * 5
    assert stored("WG#c") == {}

    monkeypatch.setattr(TableConnection, "batch_write_item", working)
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
