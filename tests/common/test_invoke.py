"""`aws.invoke` keeps its deadline on the Lambda API with socket timeouts and never retries
(a retried Invoke would run the function again); in-process invokers get a worker thread."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ReadTimeoutError

from functions.common import aws, config


class SlowLambda(BaseHTTPRequestHandler):
    requests = 0

    def do_POST(self):  # noqa: N802 - http.server's naming
        type(self).requests += 1
        self.rfile.read(int(self.headers.get("content-length") or 0))
        time.sleep(2.5)
        body = json.dumps({"v": 1, "type": "none"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_lambda(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowLambda)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    SlowLambda.requests = 0
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", f"http://127.0.0.1:{server.server_port}")
    aws.reset()
    config.reset()
    yield SlowLambda
    server.shutdown()
    aws.reset()


def test_the_lambda_api_is_given_up_at_the_deadline_and_not_retried(slow_lambda):
    with pytest.raises(ReadTimeoutError):
        aws.invoke("bookingIntent", {"v": 1}, 1.0)
    assert slow_lambda.requests == 1


def test_an_in_process_invoker_is_given_up_at_the_deadline(monkeypatch):
    release = threading.Event()

    def hanging(key, payload, timeout):
        release.wait(5)
        return {"late": True}

    aws.set_invoker(hanging)
    try:
        with pytest.raises(TimeoutError):
            aws.invoke("bookingIntent", {}, 0.2)
    finally:
        release.set()
        aws.set_invoker(None)


def test_an_invoker_that_keeps_time_is_called_directly():
    seen = []
    aws.set_invoker(lambda key, payload, timeout: seen.append(threading.current_thread()) or {"ok": 1},
                    keeps_time=True)
    try:
        assert aws.invoke("x", {}, 1.0) == {"ok": 1}
    finally:
        aws.set_invoker(None)
    assert seen == [threading.current_thread()]
