"""dynamo.Model: a container's models send through one botocore client, made once from one
botocore session, even when their first use comes from many threads at once (a batch's
record workers); `reconnect` starts afresh, as a new container would."""
from __future__ import annotations

import threading

import botocore.session
import pytest
from pynamodb.attributes import UnicodeAttribute

from functions.common import aws as common_aws
from functions.common import dynamo
from functions.common.dynamo import Model, table_meta


class Mark(Model):
    Meta = table_meta("notify")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class Tag(Mark):
    """A second model on the same table."""

    kind = UnicodeAttribute(null=True)


class Clients(list):
    """Every botocore client made, as (service, id of its session). After `hold(n)`, the
    first one is not made before `n` threads have said they `arrived`, so they all arrive
    while it is being made."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals = threading.Condition()
        self.expected = 0
        self.count = 0

    def hold(self, n: int) -> None:
        self.expected = n

    def arrived(self) -> None:
        with self.arrivals:
            self.count += 1
            self.arrivals.notify_all()

    def made(self, service: str, session_id: int) -> None:
        self.append((service, session_id))
        if len(self) == 1 and self.expected:
            with self.arrivals:
                assert self.arrivals.wait_for(lambda: self.count >= self.expected, timeout=10)


@pytest.fixture
def clients_made(aws, monkeypatch):
    made = Clients()
    real = botocore.session.Session.create_client

    def create_client(self, service_name, *args, **kwargs):
        made.made(service_name, id(self))
        return real(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
    dynamo.reconnect()
    yield made
    dynamo.reconnect()


def test_threads_using_models_first_together_share_one_client_and_one_session(clients_made):
    clients_made.hold(10)

    def first_save(i: int) -> None:
        clients_made.arrived()
        (Mark if i % 2 else Tag)(f"MARK#{i}", "MARK").save()

    threads = [threading.Thread(target=first_save, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert clients_made == [("dynamodb", clients_made[0][1])]  # one client, every model's
    assert sorted(m.pk for m in Mark.scan()) == sorted(f"MARK#{i}" for i in range(10))


def test_reconnect_makes_a_new_client(clients_made):
    Mark("MARK#1", "MARK").save()
    dynamo.reconnect()
    assert Mark.get("MARK#1", "MARK", consistent_read=True).pk == "MARK#1"
    assert [service for service, _ in clients_made] == ["dynamodb", "dynamodb"]


def test_the_client_follows_the_endpoint_the_environment_names(aws, monkeypatch):
    default = common_aws.dynamodb()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4566")
    local = common_aws.dynamodb()
    assert local is not default and local.meta.endpoint_url == "http://127.0.0.1:4566"
    assert common_aws.dynamodb() is local
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    assert common_aws.dynamodb().meta.endpoint_url == default.meta.endpoint_url


def test_queries_resume_where_a_limited_page_stopped(aws):
    for i in range(5):
        Mark("PAGED", f"{i:02d}").save()
    first = Mark.query("PAGED", limit=2)
    rest = Mark.query("PAGED", last_evaluated_key=first.last_evaluated_key)
    assert [m.sk for m in first] + [m.sk for m in rest] == ["00", "01", "02", "03", "04"]
    assert rest.last_evaluated_key is None
    everything = Mark.query("PAGED", limit=5)
    assert len(everything) == 5


def test_a_failed_condition_is_pynamodbs_error(aws):
    from pynamodb.exceptions import PutError

    Mark("ONCE", "MARK").save()
    with pytest.raises(PutError) as failed:
        Mark("ONCE", "MARK").save(condition=Mark.pk.does_not_exist())
    assert dynamo.condition_failed(failed.value)
    with pytest.raises(Mark.DoesNotExist):
        Mark.get("NEVER", "MARK")


def test_a_conditional_write_says_whether_it_was_applied_and_raises_any_other_failure(aws):
    from pynamodb.exceptions import UpdateError

    tag = Tag("IF", "MARK")
    assert tag.save_if(Tag.pk.does_not_exist())
    assert not Tag("IF", "MARK").save_if(Tag.pk.does_not_exist())
    assert tag.update_if([Tag.kind.set("b")], Tag.kind.does_not_exist())
    assert not tag.update_if([Tag.kind.set("c")], Tag.kind.does_not_exist())
    assert Tag.get("IF", "MARK").kind == "b"
    with pytest.raises(UpdateError) as refused:  # not a condition: a key attribute cannot change
        tag.update_if([Tag.sk.set("OTHER")], Tag.pk.exists())
    assert not dynamo.condition_failed(refused.value)
    assert not tag.delete_if(Tag.kind == "c")
    assert tag.delete_if(Tag.kind == "b")
    with pytest.raises(Tag.DoesNotExist):
        Tag.get("IF", "MARK")
