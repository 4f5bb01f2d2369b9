"""notify's throughput: card_transaction events through the notify queue (moto) to the fake
WeChat API answering each template message after 20 ms.

Concurrent: as Lambda's event source mapping runs notifyEvents, INSTANCES consumers at once,
each receiving batches of 10 and handing them to the real handler, which sends a batch's
records from a pool of consumer.WORKERS threads (INSTANCES x WORKERS = 40 sends in flight,
well inside WeChat's limits). One by one: a single consumer, one record at a time, measured
on a sample and extrapolated (it would take minutes for every event). Both in the same run;
then the concurrent run again with 10 % of sends failing with -1. Lost and duplicated
messages are counted in the fake's outbox. Retries of failed records are fast-forwarded
(visible again at once instead of after their backoff), so the figure is throughput, not
waiting.

moto is not DynamoDB or SQS: its table query sorts the whole table, and its ReceiveMessage
walks every message of the queue, so their cost grows with what the run has stored. The run
therefore (1) answers main-table queries of moto's DynamoDB from the one partition asked for
(the same items, in the same order), and (2) feeds the queue in waves of WAVE events, timing
only the consuming. Both apply equally to the one-by-one baseline.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from datetime import UTC
from typing import Any

EVENTS = 10_000
QUICK_EVENTS = 1_000
SAMPLE = 150
CUSTOMERS = 500
LATENCY_S = 0.020
INSTANCES = 4
GOAL = 10.0
WAVE = 500


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


def _environment():
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "cn-north-1",
                       "AWS_REGION": "cn-north-1"})
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(key, None)
    from infra.local import resources, slsconfig

    config = slsconfig.load("local")
    pending = {k: {"Ref": f"pending-{k}", "Arn": f"pending-{k}"} for k in config.resources}
    os.environ.update(resources.local_environment(config, pending))
    return config


def run(quick: bool = False) -> list[dict[str, Any]]:
    import logging

    config = _environment()
    from moto import mock_aws

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    with mock_aws():
        return _run(config, QUICK_EVENTS if quick else EVENTS)


def _run(config, total: int) -> list[dict[str, Any]]:
    from datetime import datetime

    from functions.common import aws, clock
    from functions.common import config as settings
    from functions.common.wechat import client
    from infra.local import fake_wechat, resources

    aws.reset()
    resources.serialize_dynamodb()
    _partition_queries()
    refs = resources.create_all(config)
    os.environ.update(resources.local_environment(config, refs))
    fake = fake_wechat.FakeWeChat(appid=os.environ["WECHAT_APP_ID"], secret=os.environ["WECHAT_APP_SECRET"])
    server, base = fake_wechat.serve(0, fake)
    os.environ["WECHAT_API_BASE"] = base
    settings.reset()
    client._client.cache_clear()
    clock.freeze(datetime(2026, 3, 2, 4, 0, tzinfo=UTC))  # noon in Ningbo: nothing waits
    try:
        from functions.notify import store

        openids = [f"o_bench_{i:04d}" for i in range(CUSTOMERS)]
        for i, openid in enumerate(openids):
            store.bind(openid, f"B{i:04d}", f"hash{i:04d}", f"{i % 10000:04d}")
        fake.inject("message/template/send", latency=LATENCY_S)
        bench = _Bench(refs["NotifyEventsQueue"]["Ref"], fake)

        sample, elapsed = bench.run(SAMPLE, "s", instances=1, one_by_one=True)
        serial_rate = SAMPLE / elapsed
        serial_lost, serial_dup = bench.audit(sample)

        rows = []
        concurrent_rate = 0.0
        for label, failures in (("", 0.0), (", 10 % failures", 0.10)):
            fake.clear_faults()
            fake.inject("message/template/send", latency=LATENCY_S)
            if failures:
                fake.inject("message/template/send", -1, probability=failures)
            published, elapsed = bench.run(total, "f" if failures else "c", instances=INSTANCES)
            rate = total / elapsed
            lost, duplicated = bench.audit(published)
            if not failures:
                concurrent_rate = rate
            rows += [
                _row(f"messages per second, concurrent{label}", rate, "msg/s"),
                _row(f"lost{label}", lost, "messages", "0", lost == 0),
                _row(f"duplicated{label}", duplicated, "messages", "0", duplicated == 0),
            ]
        ratio = concurrent_rate / serial_rate
        return [
            _row(f"messages per second, one by one (sample of {SAMPLE}, extrapolated)", serial_rate, "msg/s",
                 None, serial_lost == serial_dup == 0),
            rows[0],
            _row("concurrent / one by one", ratio, "x", f">= {GOAL:g}x", ratio >= GOAL),
            *rows[1:],
            _row("events per run", total, "events"),
        ]
    finally:
        clock.freeze(None)
        server.shutdown()
        client._client.cache_clear()


def _row(metric: str, value: float, unit: str, goal: str | None = None, ok: bool | None = None) -> dict[str, Any]:
    return {"benchmark": "notify", "metric": metric, "value": round(float(value), 2), "unit": unit, "goal": goal,
            "ok": ok}


class _Bench:
    def __init__(self, queue_url: str, fake):
        import boto3

        self.sqs = boto3.client("sqs")
        self.url = queue_url
        self.fake = fake

    def run(self, count: int, prefix: str, instances: int, one_by_one: bool = False) -> tuple[list[str], float]:
        """Publish and consume `count` events in waves; returns the merchants and the time
        spent consuming."""
        merchants: list[str] = []
        elapsed = 0.0
        for start in range(0, count, WAVE):
            merchants += self.publish(min(WAVE, count - start), prefix, start)
            t0 = time.perf_counter()
            self.consume(instances, one_by_one)
            elapsed += time.perf_counter() - t0
        return merchants, elapsed

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

    def consume(self, instances: int, one_by_one: bool = False) -> None:
        """Poll like Lambda's event source mapping until the queue is empty."""
        from functions.notify import app

        batch = 1 if one_by_one else 10

        def poller():
            from infra.local.queues import sqs_record

            while True:
                messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=batch,
                                                    AttributeNames=["All"]).get("Messages", [])
                if not messages:
                    if self.empty():
                        return
                    time.sleep(0.005)
                    continue
                records = [sqs_record(m, "arn:bench", "cn-north-1") for m in messages]
                failed = {f["itemIdentifier"] for f in app.events({"Records": records}, None)["batchItemFailures"]}
                done = [m for m in messages if m["MessageId"] not in failed]
                if done:
                    self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                        {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(done)])
                for m in messages:
                    if m["MessageId"] in failed:  # fast-forward the backoff
                        try:
                            self.sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"],
                                                               VisibilityTimeout=0)
                        except self.sqs.exceptions.ReceiptHandleIsInvalid:
                            pass  # the handler already moved it (parked or dead-lettered)

        threads = [threading.Thread(target=poller) for _ in range(instances)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def empty(self) -> bool:
        """Nothing waiting and nothing in flight."""
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"

    def audit(self, merchants: list[str]) -> tuple[int, int]:
        sent = Counter(m.payload["data"]["thing3"]["value"] for m in self.fake.sent() if m.kind == "template")
        lost = sum(1 for m in merchants if sent[m] == 0)
        duplicated = sum(sent[m] - 1 for m in merchants if sent[m] > 1)
        return lost, duplicated


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
