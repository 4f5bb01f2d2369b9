"""Group commit: unconditional puts from concurrent threads, written together."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from functions.common.dynamo import Model


class WriteGroup:
    """Unconditional puts from concurrent threads, written together (group commit). A thread
    that will put announces it (`promise`); a put then waits, at most LINGER_S, until every
    announced put has arrived, and they go in one BatchWriteItem (up to 25 items). So the
    outcomes of sends that run side by side cost one round trip instead of one each, and a
    lone put is written at once. `save` returns once its item is stored and raises what its
    write raised (unprocessed items are sent again first)."""

    LIMIT = 25
    LINGER_S = 0.05

    def __init__(self, model: type[Model]):
        self.model = model
        self._changed = threading.Condition()
        self._waiting: list[_Put] = []
        self._promised = 0
        self._writing = False
        self._mine = threading.local()

    @property
    def waiting(self) -> int:
        """How many puts wait for a write (the next one takes them)."""
        with self._changed:
            return len(self._waiting)

    @contextmanager
    def promise(self) -> Iterator[None]:
        """This thread may `save` one item before the block ends; a promise not kept is
        withdrawn at the end."""
        with self._changed:
            self._promised += 1
        self._mine.promised = getattr(self._mine, "promised", 0) + 1
        try:
            yield
        finally:
            if self._mine.promised:
                self._mine.promised -= 1
                with self._changed:
                    self._promised -= 1
                    self._changed.notify_all()

    def save(self, item: Model) -> None:
        put = _Put(item)
        with self._changed:
            if getattr(self._mine, "promised", 0):
                self._mine.promised -= 1
                self._promised -= 1
            self._waiting.append(put)
            self._changed.notify_all()
            leader, self._writing = not self._writing, True
        if leader:
            self._write_while_waiting()
        put.done.wait()
        if put.error is not None:
            raise put.error

    def _write_while_waiting(self) -> None:
        while True:
            with self._changed:
                if not self._waiting:
                    self._writing = False
                    return
                self._changed.wait_for(lambda: not self._promised or len(self._waiting) >= self.LIMIT,
                                       timeout=self.LINGER_S)
                group, self._waiting = self._waiting[:self.LIMIT], self._waiting[self.LIMIT:]
            try:
                with self.model.batch_write() as batch:
                    for put in group:
                        batch.save(put.item)
            except Exception as error:  # noqa: BLE001 - each waiter raises it
                for put in group:
                    put.error = error
            for put in group:
                put.done.set()


class _Put:
    def __init__(self, item: Model):
        self.item = item
        self.done = threading.Event()
        self.error: Exception | None = None
