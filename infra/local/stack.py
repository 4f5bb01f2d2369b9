"""The embedded local stack: everything `make run` serves, in one process on 127.0.0.1.

    stack = LocalStack(port=0).start()   # moto server, tables/queues/keys, gateway, fake WeChat,
    ...                                  # queue delivery, schedules, demo data
    stack.url, stack.fake_wechat, stack.fire_schedule("name"), stack.drain_queues()
    stack.stop()

The functions run in this process, with the environment they would have in AWS (from
serverless.yml) pointed at moto (AWS_ENDPOINT_URL) and at the gateway's Lambda Invoke API
(AWS_ENDPOINT_URL_LAMBDA). `stop()` puts the process environment back.
"""
from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import threading
import traceback
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.common import clock
from infra.local import resources, slsconfig
from infra.local.admin import Admin
from infra.local.core_banking import FakeCoreBanking
from infra.local.gateway import Gateway, Mount, QuietHandler, routes_from
from infra.local.lambdas import FunctionError, Lambdas
from infra.local.queues import QueueDelivery, mappings_from
from infra.local.schedules import Schedule, Scheduler, schedules_from

logger = logging.getLogger("infra.local")

HOST = "127.0.0.1"
DEMO_ORDER = ("branch_lookup", "booking", "loan_apply", "notify", "staff", "products")
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
}
# Settings that wire the functions to the stack's own resources; never taken from the shell.
WIRING = ("STAGE", "FUNCTION_PREFIX", "STAFF_OIDC_ISSUER", "STAFF_OIDC_AUDIENCE", "STAFF_OIDC_DISCOVERY_URL",
          "STAFF_OIDC_AUTHORIZE_URL", "STAFF_OIDC_TOKEN_URL", "NOTIFY_QUEUE_URL", "PII_KMS_KEY_ID", "SECRETS_PATH",
          "POWERTOOLS_SERVICE_NAME")


class LocalStack:
    """One running local stack. `port=0` picks a free port (tests); `inherit_env` lets the
    shell's environment override the local defaults (the CLI); `retry_delay_s` shortens how
    long a failed queue message stays invisible (None: the queue's visibility timeout).
    `env={"CLOCK_AT": ...}` (or CLOCK_AT in the shell, with `inherit_env`) starts the
    functions' clock at that instant; without it the clock stays as it was. `stop()` puts the
    clock back as it found it. `mount` serves the API under a stage (as execute-api's URL
    does) or a base path (as a custom domain does); PUBLIC_BASE_URL then carries it."""

    def __init__(self, port: int = 0, *, config: slsconfig.ServerlessConfig | None = None, demo: bool = True,
                 schedules: bool = True, queues: bool = True, inherit_env: bool = False,
                 env: dict[str, str] | None = None, retry_delay_s: float | None = None,
                 mount: Mount | None = None):
        self.port = port
        self.mount = mount
        self.config = config or slsconfig.load("local")
        self.demo = demo
        self.run_schedules = schedules
        self.run_queues = queues
        self.inherit_env = inherit_env
        self.overrides = dict(env or {})
        self.retry_delay_s = retry_delay_s
        self.refs: dict[str, dict[str, str]] = {}
        self.environment: dict[str, str] = {}
        self.demo_results: dict[str, Any] = {}
        self.fake_wechat: Any = None
        self.simulator: Any = None
        self.lambdas = Lambdas(self.config)
        self.schedules: list[Schedule] = schedules_from(self.config)
        self.scheduler = Scheduler(self.schedules, self._fire)
        self.delivery: QueueDelivery | None = None
        self.core_banking: FakeCoreBanking | None = None
        self._moto: Any = None
        self._server: Any = None
        self._serving: threading.Thread | None = None
        self._saved_env: dict[str, str] | None = None
        self._clock_before: timedelta | None = None  # how far the process's clock was set, if it was
        self._session: Any = None
        self._app: Any = None
        self.ready = False

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        """Where the API's root is: the stack's URL, or below it under the mount."""
        return self.url + (self.mount.prefix if self.mount else "")

    @property
    def moto_url(self) -> str:
        host, port = self._moto.get_host_and_port()
        return f"http://{host}:{port}"

    def start(self) -> LocalStack:
        from moto.server import ThreadedMotoServer
        from werkzeug.serving import make_server

        _quiet_werkzeug()
        self._saved_env = dict(os.environ)
        try:
            resources.serialize_requests()
            self._moto = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
            self._moto.start()
            self._server = make_server(HOST, self.port, self._wsgi, threaded=True,
                                       request_handler=QuietHandler)
            self.port = self._server.server_port
            self._environment_for_aws()
            self._reset_moto()
            self._session = _boto_session()
            self.refs = resources.create_all(self.config, self._session)
            self.environment = self._function_environment()
            os.environ.update(self.environment)
            self._clock_before = clock.now() - datetime.now(UTC) if clock.is_set() else None
            if self.environment.get(clock.SETTING):
                clock.start_from(self.environment)
            _forget_cached_clients()
            resources.put_secrets(self.environment, self._session)
            self._app = self._build_app()
            self._serving = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                             name="gateway", daemon=True)
            self._serving.start()
            self.delivery = QueueDelivery(self.lambdas, mappings_from(self.config, self.refs),
                                          self._session.client("sqs"), self.config_region, self.retry_delay_s)
            if {"ProductsOrdersQueue", "ProductsOrderResultsQueue"} <= set(self.refs):  # not in a reduced config
                self.core_banking = FakeCoreBanking(self._session.client("sqs"),
                                                    self.refs["ProductsOrdersQueue"]["Ref"],
                                                    self.refs["ProductsOrderResultsQueue"]["Ref"])
            if self.run_queues:
                self.delivery.start()
                if self.core_banking:
                    self.core_banking.start()
            if self.run_schedules:
                self.scheduler.start()
            if self.demo:
                self.load_demo()
            self.ready = True
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.ready = False
        self.scheduler.stop()
        if self.core_banking:
            self.core_banking.stop()
        if self.delivery:
            self.delivery.stop()
        if self._server:
            if self._serving:
                self._server.shutdown()
                self._serving = None
            self._server.server_close()
            self._server = None
        if self._moto:
            self._moto.stop()
            self._moto = None
        if self._saved_env is not None:
            os.environ.clear()
            os.environ.update(self._saved_env)
            clock.set_at(None if self._clock_before is None else datetime.now(UTC) + self._clock_before)
            self._saved_env = None
            _forget_cached_clients()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- what tests and the CLI use ------------------------------------------------------

    @property
    def config_region(self) -> str:
        return str(self.config.raw["provider"].get("region", "cn-north-1"))

    def fire_schedule(self, name: str) -> Any:
        """Fire a schedule now (by name, or by function key if it has one schedule);
        returns what the function returned, FunctionError if it failed."""
        return self._fire(self.scheduler.get(name))

    def drain_queues(self, max_batches: int = 1000) -> int:
        """Deliver queued messages until none is visible; returns how many were handed over."""
        assert self.delivery is not None, "start() first"
        return self.delivery.drain(max_batches)

    def settle_orders(self) -> int:
        """Core banking answers every waiting wealth order now, and the answers are delivered;
        returns how many orders were answered."""
        answered = self.core_banking.settle() if self.core_banking else 0
        self.drain_queues()
        return answered

    def set_clock(self, at: datetime | None) -> None:
        """Run the functions' clock on from `at` (None: the real time); the schedules follow."""
        clock.set_at(at)
        self.scheduler.moved()

    def invoke(self, key: str, event: Any) -> Any:
        return self.lambdas.call(key, event)

    def queue_depths(self) -> list[dict[str, Any]]:
        sqs = self._session.client("sqs")
        out = []
        for logical in self.config.resources_of_type("AWS::SQS::Queue"):
            ref = self.refs[logical]
            attrs = sqs.get_queue_attributes(QueueUrl=ref["Ref"], AttributeNames=["All"])["Attributes"]
            redrive = json.loads(attrs["RedrivePolicy"]) if "RedrivePolicy" in attrs else None
            out.append({
                "logical_id": logical,
                "name": ref["QueueName"],
                "url": ref["Ref"],
                "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
                "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
                "delayed": int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
                "dead_letter_queue": redrive["deadLetterTargetArn"].rsplit(":", 1)[-1] if redrive else None,
                "max_receive_count": int(redrive["maxReceiveCount"]) if redrive else None,
                "consumers": [m.function for m in (self.delivery.mappings if self.delivery else [])
                              if m.queue_url == ref["Ref"]],
            })
        return out

    def load_demo(self) -> dict[str, Any]:
        """Call each feature's infra/local/demo/<feature>.py `load()`, in order; a feature
        without one is skipped, a failing one is reported and the others still load."""
        for name in DEMO_ORDER:
            module_name = f"infra.local.demo.{name}"
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as error:
                if error.name == module_name:
                    continue
                self.demo_results[name] = {"error": f"{type(error).__name__}: {error}"}
                logger.error("demo data of %s failed to import:\n%s", name, traceback.format_exc())
                continue
            try:
                self.demo_results[name] = {"loaded": module.load()}
            except Exception as error:  # noqa: BLE001 - reported; the stack still runs
                self.demo_results[name] = {"error": f"{type(error).__name__}: {error}"}
                logger.error("demo data of %s failed:\n%s", name, traceback.format_exc())
        return self.demo_results

    def urls(self) -> dict[str, str]:
        """What the stack serves, for people."""
        out = {
            "webhook": f"{self.api_url}/wechat",
            "admin": f"{self.url}/_local/",
            "fake_wechat_outbox": f"{self.url}/_wechat/_admin/outbox",
            "lambda_invoke": f"{self.url}/2015-03-31/functions/<name>/invocations",
            "moto": self.moto_url,
        }
        if self.simulator is not None:
            out["simulator"] = f"{self.url}/_local/simulator/"
        for route in routes_from(self.config):
            if route.method == "GET" and "{" not in route.path and not _is_json(route.path) \
                    and not route.path.startswith(("/wechat", "/oauth")):
                out[f"page {route.path}"] = f"{self.api_url}{route.path}"
        return out

    def client_environment(self) -> dict[str, str]:
        """What another process needs to talk to this stack's AWS (the CLI's sub-apps), and
        the clock as it reads now when it was set."""
        env = {**self.environment, **{k: os.environ[k] for k in (*DUMMY_CREDENTIALS, "AWS_REGION",
               "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA") if k in os.environ}}
        env.pop(clock.SETTING, None)
        if clock.is_set():
            env[clock.SETTING] = clock.iso(clock.now())
        return env

    # -- internals -----------------------------------------------------------------------

    def _wsgi(self, environ, start_response):
        """The server is bound first (its port goes into the functions' environment); the
        app behind it is built once the environment is in place."""
        return self._app(environ, start_response)

    def _environment_for_aws(self) -> None:
        for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL") or k == "AWS_PROFILE"]:
            del os.environ[key]
        os.environ.update(DUMMY_CREDENTIALS)
        os.environ.update({
            "AWS_REGION": self.config_region,
            "AWS_DEFAULT_REGION": self.config_region,
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ENDPOINT_URL_LAMBDA": self.url,
        })

    def _reset_moto(self) -> None:
        """moto's backends live in this process; start from an empty account."""
        from urllib.request import Request, urlopen

        urlopen(Request(f"{self.moto_url}/moto-api/reset", method="POST"), timeout=10).read()  # noqa: S310

    def _function_environment(self) -> dict[str, str]:
        env = resources.local_environment(self.config, self.refs)
        env.update({
            "PUBLIC_BASE_URL": self.api_url,
            "WECHAT_API_BASE": f"{self.url}/_wechat/",
            "WECHAT_OPEN_BASE": f"{self.url}/_wechat/",
            "WEUI_CSS_URL": f"{self.url}/_local/static/weui.min.css",
        })
        if env.get("STAFF_OIDC_ISSUER", "").startswith("https://cognito-idp."):
            # moto serves the pool's discovery document and keys at its own address
            env["STAFF_OIDC_DISCOVERY_URL"] = (f"{self.moto_url}/{env['STAFF_OIDC_ISSUER'].rsplit('/', 1)[1]}"
                                               "/.well-known/openid-configuration")
            # and infra/local/idp.py its sign-in page and token endpoint
            env["STAFF_OIDC_AUTHORIZE_URL"] = f"{self.url}/_local/idp/authorize"
            env["STAFF_OIDC_TOKEN_URL"] = f"{self.url}/_local/idp/token"
        if self.inherit_env and self._saved_env:
            for key in env:
                if key in self._saved_env and key not in WIRING and not key.startswith("TABLE_"):
                    env[key] = self._saved_env[key]
            if self._saved_env.get(clock.SETTING):  # `CLOCK_AT=2026-11-16T15:30 make run`
                env[clock.SETTING] = self._saved_env[clock.SETTING]
        env.update(self.overrides)
        return env

    def _build_app(self):
        from werkzeug.middleware.dispatcher import DispatcherMiddleware

        mounts: dict[str, Any] = {}
        try:
            from infra.local.fake_wechat import FakeWeChat

            self.fake_wechat = FakeWeChat(appid=self.environment.get("WECHAT_APP_ID"),
                                          secret=self.environment.get("WECHAT_APP_SECRET"))
            mounts["/_wechat"] = self.fake_wechat
        except ImportError:
            logger.warning("infra/local/fake_wechat.py is missing: no fake WeChat API")
        try:
            from infra.local.simulator import make_app

            self.simulator = make_app(self.url, api_url=self.api_url)
            mounts["/_local/simulator"] = self.simulator
        except Exception as error:  # noqa: BLE001 - the stack runs without the simulator
            logger.warning("simulator not mounted: %s", error)
        from infra.local.idp import FrontEnd

        mounts["/_local/idp"] = FrontEnd()
        gateway = Gateway(self.config, self.lambdas, admin=Admin(self), mount=self.mount)
        return DispatcherMiddleware(gateway, mounts)

    def _fire(self, schedule: Schedule) -> Any:
        schedule.fired += 1
        logger.info("schedule %s → %s", schedule.name, schedule.function)
        return self.lambdas.call(schedule.function, schedule.event(self.config_region))


def _is_json(path: str) -> bool:
    return "/api/" in path or "/staff/" in path or path.endswith(("/api", "/health"))


def _boto_session():
    import boto3

    return boto3.session.Session()


def _forget_cached_clients() -> None:
    """Start the functions afresh, as in a new Lambda container: they keep AWS clients,
    connections and settings made for the environment they first saw (functools caches,
    PynamoDB models' connections), and the stack's environment just changed."""
    from functions.common import dynamo

    for name, module in sys.modules.copy().items():  # copied at once: other threads import meanwhile
        if module is None or not (name == "functions" or name.startswith("functions.")):
            continue
        for value in list(vars(module).values()):
            if getattr(value, "__module__", None) == name and callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
    dynamo.reconnect()


def _quiet_werkzeug() -> None:
    """moto's server logs every request through werkzeug's logger; keep it to warnings."""
    log = logging.getLogger("werkzeug")
    if log.level == logging.NOTSET:
        log.setLevel(logging.WARNING)




__all__ = ["LocalStack", "FunctionError"]
