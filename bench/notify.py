"""notify's throughput: card_transaction events through the notify queue to the fake WeChat
API answering each template message after 20 ms.

As deployed, AWS and WeChat are other machines, and each Lambda instance is a process of its
own. Here too: moto for SQS and SNS, moto for DynamoDB (two services, two endpoints), the fake
WeChat API, and one process per notifyEvents instance, which receives batches like Lambda's
event source mapping and hands them to the real handler. This process only publishes and
counts. AWS and WeChat keep HTTPS connections alive, and the SDKs reuse them; so the three
services are served by a keep-alive WSGI server (cheroot) rather than the development server
of `moto_server`, which closes every connection after one answer.

Concurrent: INSTANCES instances, batches of 10, each batch's records sent from a pool of
consumer.WORKERS threads (INSTANCES x WORKERS = 40 sends in flight, well inside WeChat's
limits). One by one: a single instance, one record at a time, measured on a sample and
extrapolated (it would take minutes for every event). Both in the same run; then both again
with 10 % of sends failing with -1. Each run starts its instances with an untimed warm-up
(their cold starts; the CPU of each instance's first batch is reported). Lost and duplicated
messages are counted in the fake's outbox. Retries of failed records are fast-forwarded
(visible again at once instead of after their backoff), so the figure is throughput, not
waiting.

The run also reports the CPU each process spent per message while consuming: on a machine
with few cores the emulators' CPU, which real AWS and WeChat spend elsewhere, caps the
concurrent rate (see the README's notes on this benchmark).

moto is not DynamoDB or SQS: its table query sorts the whole table, and its queue
recomputes every attribute (a walk over all messages) for each message it hands out and
works out the time with datetime arithmetic for every message it looks at. Its server
therefore (1) answers main-table queries from the one partition asked for (the same items, in
the same order), (2) checks a message's retention against the queue's setting directly,
(3) reads the clock once per check, (4) lists its handlers' methods and its services once
instead of per request, (5) runs Flask out of debug mode, and the run (6) feeds the queue in
waves of WAVE events, timing only the consuming. All apply equally to the one-by-one baseline.
"""
from __future__ import annotations

import gc
import json
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

EVENTS = 10_000
QUICK_EVENTS = 1_000
SAMPLE = 150
SAMPLE_WITH_FAILURES = 450  # one by one, a failed send costs its retries' sleeps: a steadier count
CUSTOMERS = 500
LATENCY_S = 0.020
INSTANCES = 4
GOAL = 10.0
WAVE = 1000
WARM_UP = 100
IDLE_POLL_S = 0.02  # an empty receive still walks the queue's messages in moto: poll gently
NOON_IN_NINGBO = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # nothing waits for quiet hours


def _partition_queries() -> None:
    """Answer moto's main-table queries from the partition asked for instead of a sorted
    copy of the whole table (moto sorts the partition's items by range key afterwards)."""
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "partitioned", False):
        return
    whole_table = Table.query

    def query(self, hash_key, *args, **kwargs):
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None or not self.range_key_attr:
            return whole_table(self, hash_key, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        self.all_items = lambda: partition
        try:
            return whole_table(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    query.partitioned = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]


def _retention_from_attribute() -> None:
    """Check a received message's retention against the queue's setting directly: moto
    recomputes every queue attribute (a walk over all its messages) for each message it
    hands out."""
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    def valid(self, queue_name, message) -> bool:
        retention_s = int(self.get_queue(queue_name).message_retention_period)
        return retention_s + message.sent_timestamp / 1000 > unix_time()

    SQSBackend.is_message_valid_based_on_retention_period = valid  # type: ignore[method-assign]


def _wall_clock() -> None:
    """Read the time once per check: moto's queue works out "now" through two datetime
    conversions for every message it walks, twice per message on each receive."""
    from moto.sqs import models

    def unix_time(dt=None) -> float:
        return time.time() if dt is None else whole_unix_time(dt)

    def unix_time_millis(dt=None) -> float:
        return unix_time(dt) * 1000.0

    whole_unix_time = models.unix_time
    models.unix_time, models.unix_time_millis = unix_time, unix_time_millis


def _known_actions() -> None:
    """List a response class's methods once: moto lists them (inspect.getmembers) for every
    request it answers."""
    from functools import cache

    from moto.core import responses

    responses.method_names_from_class = cache(responses.method_names_from_class)


def _known_services() -> None:
    """List moto's services once: moto lists its package's folders for every request."""
    from moto import backends

    services = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: services


def _keep_alive(app) -> str:
    """Serve a WSGI app on keep-alive connections from a pool of threads, in the background;
    returns its base URL. The listen backlog and the number of idle connections kept are
    raised from cheroot's defaults (5 and 10), which 40 senders overflow: a connection
    refused at the backlog waits a second for TCP to try again."""
    import threading

    from cheroot import wsgi

    server = wsgi.Server(("127.0.0.1", 0), app, numthreads=64, request_queue_size=256)
    server.keep_alive_conn_limit = 256
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    return f"http://127.0.0.1:{server.bind_addr[1]}"


def serve_aws(conn, service: str | None = None) -> None:
    """AWS for the run: moto's server, for one service or (None) any."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from infra.local import resources

    resources.serialize_requests()
    _partition_queries()
    _retention_from_attribute()
    _wall_clock()
    _known_actions()
    _known_services()

    def backend_app(name):
        """moto's app for a service, out of the Flask debug mode moto turns on."""
        app = create_backend_app(name)
        app.debug = False
        return app

    _answer(conn, _keep_alive(backend_app(service) if service else DomainDispatcherApplication(backend_app)))


def _serve_wechat(conn, appid: str, secret: str) -> None:
    """WeChat for the run: the fake WeChat API."""
    from infra.local import fake_wechat

    _answer(conn, _keep_alive(fake_wechat.FakeWeChat(appid=appid, secret=secret)) + "/")


def _answer(conn, first: str, consume: Callable[[], Any] | None = None) -> None:
    """Tell the run where the service is (or that it is ready). Then, asked to "consume",
    consume and answer what that returns; asked to "collect", collect its garbage (so that
    a collector's pause lands between measurements, not in one) and answer when done; asked
    anything else, answer the CPU time spent so far."""
    conn.send(first)
    try:
        while command := conn.recv():
            if command == "consume" and consume is not None:
                conn.send(consume())
            elif command == "collect":
                gc.collect()
                conn.send(time.process_time())
            else:
                conn.send(time.process_time())
    except EOFError:
        pass


class Service:
    """A service in a process of its own (spawned: no state inherited from the run)."""

    def __init__(self, target, *args):
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=target, args=(theirs, *args), daemon=True)
        self.process.start()
        if not self.conn.poll(60):
            raise RuntimeError(f"{target.__name__} did not start")
        self.url: str = self.conn.recv()

    def cpu(self) -> float:
        self.conn.send(True)
        return self.conn.recv()

    def collect(self) -> None:
        """Have the service collect its garbage now."""
        self.conn.send("collect")
        self.conn.recv()

    def stop(self) -> None:
        self.conn.close()
        self.process.terminate()
        self.process.join()


def _environment():
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "cn-north-1",
                       "AWS_REGION": "cn-north-1"})
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        os.environ.pop(key, None)
    from infra.local import resources, slsconfig

    config = slsconfig.load("local")
    pending = {k: {"Ref": f"pending-{k}", "Arn": f"pending-{k}"} for k in config.resources}
    os.environ.update(resources.local_environment(config, pending))
    return config


def run(quick: bool = False) -> list[dict[str, Any]]:
    config = _environment()
    aws, dynamodb = Service(serve_aws), Service(serve_aws, "dynamodb")
    wechat = Service(_serve_wechat, os.environ["WECHAT_APP_ID"], os.environ["WECHAT_APP_SECRET"])
    try:
        os.environ.update({"AWS_ENDPOINT_URL": aws.url, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.url,
                           "WECHAT_API_BASE": wechat.url})
        return _run(config, QUICK_EVENTS if quick else EVENTS, _Fake(wechat),
                    {"AWS (moto: SQS)": aws, "AWS (moto: DynamoDB)": dynamodb})
    finally:
        for service in (aws, dynamodb, wechat):
            service.stop()


def _run(config, total: int, fake: _Fake, emulators: dict[str, Service]) -> list[dict[str, Any]]:
    from functions.common import aws, clock
    from functions.common import config as settings
    from functions.common.wechat import client
    from infra.local import resources

    aws.reset()
    refs = resources.create_all(config)
    os.environ.update(resources.local_environment(config, refs))
    settings.reset()
    client._client.cache_clear()
    clock.freeze(NOON_IN_NINGBO)
    try:
        from functions.notify import store

        openids = [f"o_bench_{i:04d}" for i in range(CUSTOMERS)]
        for i, openid in enumerate(openids):
            store.bind(openid, f"B{i:04d}", f"hash{i:04d}", f"{i % 10000:04d}")
        fake.inject(latency=LATENCY_S)
        clocks = {**{who: service.cpu for who, service in emulators.items()}, "WeChat (fake)": fake.service.cpu}
        bench = _Bench(refs["NotifyEventsQueue"]["Ref"], clocks)

        rows = []
        cpu_rows = []
        for label, failures in (("", 0.0), (", 10 % failures", 0.10)):
            fake.clear_faults()
            fake.inject(latency=LATENCY_S)
            if failures:
                fake.inject(errcode=-1, probability=failures)
            size = SAMPLE_WITH_FAILURES if failures else SAMPLE
            sample, elapsed, _, _ = bench.run(size, "t" if failures else "s", instances=1, one_by_one=True)
            serial_rate = size / elapsed
            serial_lost, serial_dup = fake.audit(sample)
            published, elapsed, cpu, cold = bench.run(total, "f" if failures else "c", instances=INSTANCES)
            rate = total / elapsed
            lost, duplicated = fake.audit(published)
            if not failures:
                cpu_rows = [_row(f"CPU per message, {who}", 1000 * spent / total, "ms") for who, spent in cpu.items()]
                cpu_rows.append(_row(f"CPU of a cold instance's first batch of 10 (median of {len(cold)})",
                                     1000 * statistics.median(cold), "ms"))
            ratio = rate / serial_rate
            rows += [
                _row(f"messages per second, one by one{label} (sample of {size}, extrapolated)", serial_rate,
                     "msg/s", None, serial_lost == serial_dup == 0),
                _row(f"messages per second, concurrent{label}", rate, "msg/s"),
                # the goal is the steady state's; with failures the figure says what they cost
                _row(f"concurrent / one by one{label}", ratio, "x", None if failures else f">= {GOAL:g}x",
                     None if failures else ratio >= GOAL),
                _row(f"lost{label}", lost, "messages", "0", lost == 0),
                _row(f"duplicated{label}", duplicated, "messages", "0", duplicated == 0),
            ]
        return [*rows, *cpu_rows, _row("events per run", total, "events")]
    finally:
        clock.freeze(None)
        client._client.cache_clear()
        aws.reset()


class _Fake:
    """The fake WeChat API's admin endpoints: faults on template sends, and the outbox."""

    def __init__(self, service: Service):
        import requests

        self.service = service
        self.base = service.url
        self.http = requests.Session()

    def inject(self, errcode: int | None = None, latency: float = 0.0, probability: float = 1.0) -> None:
        self.http.post(self.base + "_admin/faults", json={
            "endpoint": "message/template/send", "errcode": errcode, "latency": latency,
            "probability": probability}, timeout=10).raise_for_status()

    def clear_faults(self) -> None:
        self.http.delete(self.base + "_admin/faults", timeout=10).raise_for_status()

    def audit(self, merchants: list[str]) -> tuple[int, int]:
        """(lost, duplicated) among the card alerts for `merchants`."""
        messages = self.http.get(self.base + "_admin/outbox", timeout=60).json()
        sent = Counter(m["payload"]["data"]["thing3"]["value"] for m in messages if m["kind"] == "template")
        lost = sum(1 for m in merchants if sent[m] == 0)
        duplicated = sum(sent[m] - 1 for m in merchants if sent[m] > 1)
        return lost, duplicated


def _row(metric: str, value: float, unit: str, goal: str | None = None, ok: bool | None = None) -> dict[str, Any]:
    return {"benchmark": "notify", "metric": metric, "value": round(float(value), 2), "unit": unit, "goal": goal,
            "ok": ok}


class _Bench:
    def __init__(self, queue_url: str, cpu_clocks: dict[str, Callable[[], float]]):
        import boto3

        self.sqs = boto3.client("sqs")
        self.url = queue_url
        self.cpu_clocks = cpu_clocks

    def run(self, count: int, prefix: str, instances: int,
            one_by_one: bool = False) -> tuple[list[str], float, dict[str, float], list[float]]:
        """Publish and consume `count` events in waves; returns the merchants, the time spent
        consuming, the CPU time each process spent meanwhile (the instances' together, as
        "functions") and the CPU time of each instance's first batch (its cold start)."""
        lambdas = [Service(_serve_instance, self.url, 1 if one_by_one else 10) for _ in range(instances)]
        clocks = {"functions": lambda: sum(instance.cpu() for instance in lambdas), **self.cpu_clocks}
        merchants: list[str] = []
        elapsed = 0.0
        cpu = dict.fromkeys(clocks, 0.0)
        try:
            self.publish(WARM_UP, "w" + prefix)  # each instance's cold start, untimed
            cold = [first for first in self.consume(lambdas) if first is not None]
            for start in range(0, count, WAVE):
                merchants += self.publish(min(WAVE, count - start), prefix, start)
                before = {who: clock() for who, clock in clocks.items()}
                t0 = time.perf_counter()
                self.consume(lambdas)
                elapsed += time.perf_counter() - t0
                for who, clock in clocks.items():
                    cpu[who] += clock() - before[who]
        finally:
            for instance in lambdas:
                instance.stop()
        return merchants, elapsed, cpu, cold

    @staticmethod
    def consume(lambdas: list[Service]) -> list[float | None]:
        """Let every instance consume until the queue is empty; their first batches' CPU."""
        for instance in lambdas:
            instance.conn.send("consume")
        return [instance.conn.recv() for instance in lambdas]

    def publish(self, count: int, prefix: str, first: int = 0) -> list[str]:
        """`count` small domestic card payments (WeChat only), each with a unique merchant."""
        from functions.common import events

        merchants = []
        entries = []
        for n in range(first, first + count):
            merchant = f"{prefix}{n}"
            merchants.append(merchant)
            i = n % CUSTOMERS
            event = events.make("card_transaction", {
                "customer_id": f"B{i:04d}", "card_last4": f"{i % 10000:04d}", "amount_fen": 100 + n % 20000,
                "currency": "CNY", "merchant": merchant, "cross_border": False, "card_present": True,
                "txn_time": "2026-03-02T04:00:00Z"}, "core_banking")
            entries.append({"Id": str(len(entries)), "MessageBody": json.dumps(event)})
            if len(entries) == 10:
                self.sqs.send_message_batch(QueueUrl=self.url, Entries=entries)
                entries = []
        if entries:
            self.sqs.send_message_batch(QueueUrl=self.url, Entries=entries)
        return merchants


def _serve_instance(conn, queue_url: str, batch: int) -> None:
    """One Lambda instance of notifyEvents with its share of the event source mapping: a
    process of its own, handling one batch at a time; to "consume" is to poll until the
    queue is empty."""
    import boto3

    from functions.common import clock
    from functions.notify import app
    from infra.local.queues import sqs_record

    clock.freeze(NOON_IN_NINGBO)
    sqs = boto3.client("sqs")
    first_batch_cpu: list[float] = []

    def empty() -> bool:
        """Nothing waiting and nothing in flight."""
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"

    def consume() -> float | None:
        """Handle batches until the queue is empty; the CPU time of this instance's first."""
        while True:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=batch,
                                           AttributeNames=["All"]).get("Messages", [])
            if not messages:  # the wave's last batches are in flight elsewhere
                if empty():
                    return first_batch_cpu[0] if first_batch_cpu else None
                time.sleep(IDLE_POLL_S)
                continue
            records = [sqs_record(m, "arn:bench", "cn-north-1") for m in messages]
            started = time.process_time()
            failed = {f["itemIdentifier"] for f in app.events({"Records": records}, None)["batchItemFailures"]}
            if not first_batch_cpu:
                first_batch_cpu.append(time.process_time() - started)
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                    {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(done)])
            for m in messages:
                if m["MessageId"] in failed:  # fast-forward the backoff
                    try:
                        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                      VisibilityTimeout=0)
                    except sqs.exceptions.ReceiptHandleIsInvalid:
                        pass  # the handler already moved it (parked or dead-lettered)

    _answer(conn, "ready", consume)


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
