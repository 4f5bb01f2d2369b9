"""`aws.invoke` speaks the Lambda API: it keeps its deadline with socket timeouts, never
retries (a retried Invoke would run the function again), and reports a failed function."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ReadTimeoutError

from functions.common import aws as common_aws
from functions.common import config, intents
from functions.common.intents import Intent, Reply
from infra.local.lambdas import FunctionError, Lambdas
from tests.conftest import CONFIG


class HangingLambda(BaseHTTPRequestHandler):
    """A Lambda API whose function answers only once the test lets it."""

    requests = 0
    released = threading.Event()

    def do_POST(self):  # noqa: N802 - http.server's naming
        type(self).requests += 1
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.released.wait(10)
        body = json.dumps({"v": intents.VERSION, "type": "none"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def hanging_lambda(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), HangingLambda)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    HangingLambda.requests = 0
    HangingLambda.released.clear()
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", f"http://127.0.0.1:{server.server_port}")
    common_aws.reset()
    config.reset()
    yield HangingLambda
    HangingLambda.released.set()
    server.shutdown()
    common_aws.reset()


def test_the_lambda_api_is_given_up_at_the_deadline_and_not_retried(hanging_lambda):
    with pytest.raises(ReadTimeoutError):
        common_aws.invoke("bookingIntent", {"v": intents.VERSION}, 1.0)
    assert hanging_lambda.requests == 1


def test_a_function_is_reached_through_the_lambda_api(aws):
    intent = Intent(kind="ask", openid="o_1", name=intents.LOAN_APPLY)
    reply = Reply.from_dict(common_aws.invoke("loanApplyIntent", intent.to_dict(), 5.0))
    assert reply.type == "news" and reply.article.url.endswith("/loans/apply")


class Failing(Lambdas):
    def call(self, key, event, timeout_s=None):
        raise FunctionError({"errorMessage": "boom", "errorType": "RuntimeError"})


def test_a_failed_function_is_an_error(aws, lambda_api):
    lambda_api.gateway.lambdas = Failing(CONFIG)
    with pytest.raises(RuntimeError, match="loanApplyIntent failed"):
        common_aws.invoke("loanApplyIntent", {"v": intents.VERSION}, 5.0)
