"""Configuration, read once per container from the environment.

Secrets (WeChat token, AES key, app secret, session and hashing keys, SMS keys) come from
the environment when set (the local stack, tests) and otherwise each from its own
SecureString parameter in SSM Parameter Store, `<SECRETS_PATH>/<NAME>`. A function's role may
read only the parameters of the secrets its code uses (infra/iam), which its environment
names (`SECRETS`), so no function holds another's secrets. The first secret a container
needs fetches all of them in one GetParameters call, through the container's botocore
session (Powertools' parameters utility would import boto3 and make a session of its own:
about half of `import boto3` again on a cold start), kept five minutes so that a rotated
value reaches warm containers.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import time
from functools import lru_cache
from time import monotonic
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from functions.common.staff import Issuer

SECRET_NAMES = (
    "WECHAT_TOKEN",
    "WECHAT_ENCODING_AES_KEY",
    "WECHAT_APP_SECRET",
    "SESSION_SECRET",
    "PII_HASH_KEY",
    # SMS in the China regions (functions/notify/sms.py): "<id>:<secret>" of the provider's key
    "ALIYUN_SMS_ACCESS_KEY",
    "TENCENT_SMS_SECRET",
)
# Stages that are not in AWS: the local stack and the tests.
LOCAL_STAGES = ("local", "test")
DEFAULT_STAGE = "local"

TEMPLATE_PREFIX = "NOTIFY_TEMPLATE_"
SECRETS_MAX_AGE_S = 300
# {SECRETS_PATH: (monotonic time fetched, {name: value})}
_fetched: dict[str, tuple[float, dict[str, str]]] = {}


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    public_base_url: str
    wechat_app_id: str
    wechat_message_mode: str  # plain | compatible | safe, as the account is set on WeChat's side
    wechat_api_base: str
    wechat_open_base: str
    wechat_verify_token: str  # WeChat's domain check: MP_verify_<token>.txt holds <token>
    function_prefix: str
    notify_queue_url: str
    products_orders_queue_url: str  # wealth orders to core banking (products' API)
    products_results_dead_letter_url: str  # core banking's answers that cannot be used, with why
    customer_events_topic_arn: str
    pii_kms_key_id: str
    pii_context_feature: str
    intent_deadline_s: float
    timestamp_window_s: int
    max_body_bytes: int
    hotline: str
    loan_daily_limit: int  # applications per openid per Asia/Shanghai day
    loan_phone_daily_limit: int  # applications per mobile number per day, across openids
    loan_purge_after_days: int  # retention of rejected and withdrawn applications
    loan_two_approvers_above_fen: int  # an application above this amount needs two approvers
    staff_read_hourly_limit: int  # decrypted reads of personal data per member of staff per hour
    wealth_assessment_months: int  # a risk-tolerance assessment is valid this long
    wealth_assessments_per_day: int  # assessments per openid per Asia/Shanghai day
    wealth_first_assessment: str  # online | branch: where a customer's first assessment is done
    notify_sms_min_fen: int  # a card payment at least this large is also texted
    notify_quiet_start: time  # Asia/Shanghai: non-urgent messages wait from this time...
    notify_quiet_end: time  # ...until this one
    notify_reconcile_s: int  # how long a timed-out template send waits for WeChat's report
    notify_sms_sign: str  # the bank's SMS signature, registered with the SMS provider
    sms_provider: str  # sns | aliyun | tencent (functions/notify/sms.py)
    sms_endpoint: str  # the provider's API, when not its public one
    sms_region: str  # Tencent Cloud's SMS region (ap-guangzhou)
    sms_app_id: str  # Tencent Cloud's SmsSdkAppId
    sms_templates: dict[str, str] = field(hash=False)  # the provider's template code by notify's key
    # template ids WeChat gave the bank, by notify's template key (NOTIFY_TEMPLATE_<KEY>)
    notify_template_ids: dict[str, str] = field(hash=False)
    # staff sign in with the bank's OpenID Connect provider (functions/common/staff.py)
    staff_oidc_issuer: str = ""  # the `iss` of its tokens (the stage's Cognito pool by default)
    staff_oidc_audience: str = ""  # the console's client id
    staff_oidc_discovery_url: str = ""  # empty: <issuer>/.well-known/openid-configuration
    staff_oidc_authorize_url: str = ""  # empty: the discovery document's
    staff_oidc_token_url: str = ""  # empty: the discovery document's
    staff_roles_claim: str = "cognito:groups"
    staff_branch_claim: str = "custom:branch"
    staff_name_claim: str = "name"

    @property
    def is_aws(self) -> bool:
        return self.stage not in LOCAL_STAGES

    def table(self, name: str) -> str:
        """Table name for a logical name like `branches` (env `TABLE_BRANCHES`)."""
        return os.environ[f"TABLE_{name.upper().replace('-', '_')}"]

    def staff_issuer(self) -> Issuer:
        """The identity provider staff tokens must come from; RuntimeError when the stage
        names none (a staff route then answers 500, never lets anyone in)."""
        from functions.common.staff import Issuer

        if not (self.staff_oidc_issuer and self.staff_oidc_audience):
            raise RuntimeError("STAFF_OIDC_ISSUER and STAFF_OIDC_AUDIENCE are not configured")
        return Issuer(issuer=self.staff_oidc_issuer, audience=self.staff_oidc_audience,
                      discovery_url=self.staff_oidc_discovery_url
                      or f"{self.staff_oidc_issuer}/.well-known/openid-configuration",
                      roles_claim=self.staff_roles_claim, branch_claim=self.staff_branch_claim,
                      name_claim=self.staff_name_claim, authorize_url=self.staff_oidc_authorize_url,
                      token_url=self.staff_oidc_token_url)

    def function_name(self, key: str) -> str:
        """Deployed name of a function from its serverless.yml key."""
        return f"{self.function_prefix}{key}"


@lru_cache(maxsize=1)
def settings() -> Settings:
    env = os.environ.get
    return Settings(
        stage=env("STAGE", DEFAULT_STAGE),
        region=env("AWS_REGION") or env("AWS_DEFAULT_REGION", "cn-north-1"),
        public_base_url=env("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        wechat_app_id=env("WECHAT_APP_ID", "wxlocal0000000000"),
        wechat_message_mode=env("WECHAT_MESSAGE_MODE", "safe"),
        wechat_api_base=env("WECHAT_API_BASE", "https://api.weixin.qq.com/").rstrip("/") + "/",
        wechat_open_base=env("WECHAT_OPEN_BASE", "https://open.weixin.qq.com/").rstrip("/") + "/",
        wechat_verify_token=env("WECHAT_VERIFY_TOKEN", ""),
        function_prefix=env("FUNCTION_PREFIX", "wechat-bank-local-"),
        notify_queue_url=env("NOTIFY_QUEUE_URL", ""),
        products_orders_queue_url=env("PRODUCTS_ORDERS_QUEUE_URL", ""),
        products_results_dead_letter_url=env("PRODUCTS_RESULTS_DEAD_LETTER_URL", ""),
        customer_events_topic_arn=env("CUSTOMER_EVENTS_TOPIC_ARN", ""),
        pii_kms_key_id=env("PII_KMS_KEY_ID", ""),
        pii_context_feature=env("PII_CONTEXT_FEATURE", ""),
        intent_deadline_s=float(env("INTENT_DEADLINE_S", "4")),
        timestamp_window_s=int(env("WECHAT_TIMESTAMP_WINDOW_S", "300")),
        max_body_bytes=int(env("WECHAT_MAX_BODY_BYTES", "65536")),
        hotline=env("BANK_HOTLINE", "0574-96528"),
        loan_daily_limit=int(env("LOAN_DAILY_LIMIT", "3")),
        loan_phone_daily_limit=int(env("LOAN_PHONE_DAILY_LIMIT", "3")),
        loan_purge_after_days=int(env("LOAN_PURGE_AFTER_DAYS", "180")),
        loan_two_approvers_above_fen=int(env("LOAN_TWO_APPROVERS_ABOVE_FEN", "20000000")),
        staff_read_hourly_limit=int(env("STAFF_READ_HOURLY_LIMIT", "60")),
        wealth_assessment_months=int(env("WEALTH_ASSESSMENT_MONTHS", "12")),
        wealth_assessments_per_day=int(env("WEALTH_ASSESSMENTS_PER_DAY", "2")),
        wealth_first_assessment=env("WEALTH_FIRST_ASSESSMENT", "online"),
        notify_sms_min_fen=int(env("NOTIFY_SMS_MIN_FEN", "30000")),
        notify_quiet_start=time.fromisoformat(env("NOTIFY_QUIET_START", "21:00")),
        notify_quiet_end=time.fromisoformat(env("NOTIFY_QUIET_END", "08:00")),
        notify_reconcile_s=int(env("NOTIFY_RECONCILE_S", "600")),
        notify_sms_sign=env("NOTIFY_SMS_SIGN", "【甬城银行】"),
        sms_provider=env("SMS_PROVIDER", "sns"),
        sms_endpoint=env("SMS_ENDPOINT", ""),
        sms_region=env("SMS_REGION", "ap-guangzhou"),
        sms_app_id=env("SMS_APP_ID", ""),
        sms_templates={key.strip(): code.strip() for key, _, code in
                       (item.partition("=") for item in env("SMS_TEMPLATES", "").split(",")) if code.strip()},
        notify_template_ids={name.removeprefix(TEMPLATE_PREFIX).lower(): value for name, value in os.environ.items()
                             if name.startswith(TEMPLATE_PREFIX) and value},
        staff_oidc_issuer=env("STAFF_OIDC_ISSUER", "").rstrip("/"),
        staff_oidc_audience=env("STAFF_OIDC_AUDIENCE", ""),
        staff_oidc_discovery_url=env("STAFF_OIDC_DISCOVERY_URL", ""),
        staff_oidc_authorize_url=env("STAFF_OIDC_AUTHORIZE_URL", ""),
        staff_oidc_token_url=env("STAFF_OIDC_TOKEN_URL", ""),
        staff_roles_claim=env("STAFF_ROLES_CLAIM", "cognito:groups"),
        staff_branch_claim=env("STAFF_BRANCH_CLAIM", "custom:branch"),
        staff_name_claim=env("STAFF_NAME_CLAIM", "name"),
    )


def secret(name: str) -> str:
    """One secret: the environment's value, else its own parameter (in AWS stages)."""
    if name not in SECRET_NAMES:
        raise KeyError(f"unknown secret {name}")
    value = os.environ.get(name)
    path = os.environ.get("SECRETS_PATH")
    if not value and path and settings().is_aws:
        value = _stored_secrets(path, name)
    if not value:
        raise RuntimeError(f"secret {name} is not configured")
    return value


def _stored_secrets(path: str, name: str) -> str | None:
    """`name` from the parameters of every secret this function reads, fetched together."""
    names = os.environ.get("SECRETS", "").split()
    if name not in names:
        raise RuntimeError(f"secret {name} is not among this function's SECRETS ({' '.join(names) or 'none'})")
    fetched = _fetched.get(path)
    if fetched is None or monotonic() - fetched[0] >= SECRETS_MAX_AGE_S or name not in fetched[1]:
        from functions.common import aws

        answer = aws.client("ssm").get_parameters(Names=[f"{path}/{n}" for n in names], WithDecryption=True)
        fetched = (monotonic(), {p["Name"].rsplit("/", 1)[1]: p["Value"] for p in answer["Parameters"]})
        _fetched[path] = fetched
    return fetched[1].get(name)


def reset() -> None:
    """Forget cached settings and secrets (tests change the environment between cases)."""
    settings.cache_clear()
    _fetched.clear()
    from functions.common import staff

    staff.forget_keys()
