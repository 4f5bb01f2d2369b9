"""Core banking's side of wealth orders, played locally: it takes the orders products sends on
products-orders and answers on products-order-results, as the bank's system would: CONFIRMED,
or FAILED with 余额不足 when a purchase is above the demo account's balance. A cancellation
that arrives before its order is settled stops it (no answer). Settles in the background
every `delay_s`, or at once through POST /_local/core-banking/settle."""
from __future__ import annotations

import json
import logging
import threading
from typing import Any

logger = logging.getLogger("infra.local")
DEMO_BALANCE_FEN = 5_000_000  # 50,000 yuan on every demo card
DELAY_S = 3.0


class FakeCoreBanking:
    def __init__(self, sqs: Any, orders_url: str, results_url: str, balance_fen: int = DEMO_BALANCE_FEN,
                 delay_s: float = DELAY_S):
        self.sqs = sqs
        self.orders_url = orders_url
        self.results_url = results_url
        self.balance_fen = balance_fen
        self.delay_s = delay_s
        self.answered: dict[str, str] = {}  # order id → CONFIRMED | FAILED
        self.cancelled: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="core-banking", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.delay_s):
            try:
                self.settle()
            except Exception:  # noqa: BLE001 - keep settling, as the bank's system would
                logger.exception("core banking could not settle orders")

    def settle(self) -> int:
        """Take every waiting order and answer it; returns how many were answered."""
        with self._lock:
            messages = self._receive()
            orders = []
            for message in messages:
                body = json.loads(message["Body"])
                if body.get("kind") == "cancel":
                    self.cancelled.add(body["order_id"])
                else:
                    orders.append(body)
            answered = sum(self._answer(order) for order in orders)
            for message in messages:
                self.sqs.delete_message(QueueUrl=self.orders_url, ReceiptHandle=message["ReceiptHandle"])
            return answered

    def _receive(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.orders_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", [])
            if not got:
                return out
            out += got

    def _answer(self, order: dict[str, Any]) -> int:
        """One order, once per idempotency key (a resent order gets the first answer again)."""
        key = order["idempotency_key"]
        if order["order_id"] in self.cancelled:
            return 0
        result = self.answered.get(key)
        if result is None:
            short = order["kind"] == "purchase" and order["amount_fen"] > self.balance_fen
            result = self.answered[key] = "FAILED" if short else "CONFIRMED"
        answer = {"order_id": order["order_id"], "result": result, "amount_fen": order["amount_fen"]}
        if result == "FAILED":
            answer["reason"] = "余额不足"
        self.sqs.send_message(QueueUrl=self.results_url, MessageBody=json.dumps(answer, ensure_ascii=False))
        return 1
