"""dynamo.Model: a model's connection and botocore client are made once per container, from
one botocore session, even when its first use comes from many threads at once (a batch's
record workers)."""
from __future__ import annotations

import threading

import botocore.session
from pynamodb.attributes import UnicodeAttribute

from functions.common.dynamo import Model, table_meta


class Mark(Model):
    Meta = table_meta("notify")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class Tag(Mark):
    """A second model: a connection of its own once its `_connection` is reset."""


def test_threads_using_models_first_together_share_a_client_each_and_one_session(aws, monkeypatch):
    made: list[tuple[str, int]] = []
    real = botocore.session.Session.create_client
    arrived = threading.Condition()
    saving = 0  # threads that have begun their first save

    def slow_create_client(self, service_name, *args, **kwargs):
        made.append((service_name, id(self)))
        with arrived:  # every thread arrives while the first is making its client
            assert arrived.wait_for(lambda: saving == 10, timeout=10)
        return real(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", slow_create_client)
    for model in (Mark, Tag):
        monkeypatch.setattr(model, "_connection", None)

    def first_save(i: int) -> None:
        nonlocal saving
        with arrived:
            saving += 1
            arrived.notify_all()
        (Mark if i % 2 else Tag)(f"MARK#{i}", "MARK").save()

    threads = [threading.Thread(target=first_save, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert [service for service, _ in made] == ["dynamodb", "dynamodb"]  # one client per model
    assert len({session for _, session in made}) == 1
    assert sorted(m.pk for m in Mark.scan()) == sorted(f"MARK#{i}" for i in range(10))
