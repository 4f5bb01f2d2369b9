"""Live resources of a fuzzing customer, made through the features' own actions (as a
customer or the demo loader would make them): a booking, a loan application, a card
binding and a wealth order that belong to the customer, demo branches and products. Fuzzed requests aim at these so
they reach the handlers' checks of a resource that exists, not a 404 for an unknown id."""
from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Callable
from datetime import date, timedelta

BRANCH = "HS01"  # bookable demo branch (infra/local/demo/branch_lookup.json)
DEMO_PRODUCT = "YC0001"  # the demo cash product (R1; infra/local/demo/products.py)
# applicants' ID numbers: each one new in this process (one open application per ID and product)
_APPLICANTS = itertools.count(secrets.randbelow(1000))


def booking(openid: str, branch_id: str = BRANCH) -> str:
    """The customer's booking of the first open wealth slot from tomorrow on."""
    from functions.booking import actions
    from functions.common import clock
    from functions.common.errors import ApiError

    today = clock.local().date()
    for ahead in range(1, 15):
        try:
            slots = actions.slots(branch_id, "wealth", (today + timedelta(days=ahead)).isoformat())["slots"]
        except ApiError:  # closed that day
            continue
        for slot in slots:
            if slot["available"]:
                made = actions.create(openid, {"branch_id": branch_id, "service": "wealth", "slot_start": slot["start"],
                                               "name": "张三", "mobile": _mobile(),
                                               "idempotency_key": secrets.token_hex(8)})
                return made.id
    raise AssertionError(f"no open slot at {branch_id} in two weeks")


def application(openid: str) -> str:
    """The customer's submitted consumer-loan application (its own ID number and mobile)."""
    from functions.loan_apply import actions
    from tests.loan_apply.conftest import form, resident_id

    n = next(_APPLICANTS)
    born = date(1990, 5, 17) + timedelta(days=n // 1000)
    result = actions.submit(openid, form(id_number=resident_id(born, f"{n % 1000:03d}"), phone=_mobile()),
                            secrets.token_hex(8))
    return result["application"]["application_id"]


def binding(openid: str) -> str:
    """A card of a demo core-banking customer bound to this customer."""
    from functions.notify import actions, corebank, store
    from infra.local.demo.notify import CUSTOMERS

    customer_id, _name, _phone, numbers, _openids = CUSTOMERS[1]
    card = corebank.add_card(customer_id, numbers[0])
    return actions.view(store.bind(openid, customer_id, card.card_hash, card.last4))["id"]


def order(openid: str) -> str:
    """The customer's PENDING purchase of the demo cash product, placed as the purchase form
    places it (actions.place_order): the demo catalogue imported if it is not, the customer
    assessed (C3) and the agreement's current version accepted."""
    from functions.common import clock
    from functions.products import actions, service, store, suitability
    from infra.local.demo import products as demo

    if store.get(DEMO_PRODUCT) is None:
        products, _ = service.read_catalogue(demo.rows(clock.local().date()))
        actions.import_catalogue(products)
    if store.current_agreement() is None:
        store.publish_agreement(demo.DOCUMENTS_VERSION, demo.AGREEMENT)
    if not actions.standing(openid).valid:
        actions.assess(openid, {q.id: "3" for q in suitability.QUESTIONNAIRE.questions})
    if not actions.has_accepted(openid):
        current = store.current_agreement()
        actions.accept(openid, {"agree": "true", "version": current.version, "sha256": current.sha256},
                       "127.0.0.1", "live")
    minimum = store.get(DEMO_PRODUCT).product().min_purchase_fen
    return actions.place_order(openid, DEMO_PRODUCT, minimum, "live-card", "0004", secrets.token_hex(16)).order_id


def branch(openid: str) -> str:
    return BRANCH


def _mobile() -> str:
    return f"1395740{secrets.randbelow(10000):04d}"


def verify_file(openid: str) -> str:
    """WeChat's domain-check file as the stack's stage serves it."""
    from functions.common import config

    return f"MP_verify_{config.settings().wechat_verify_token}.txt"


def product(openid: str) -> str:
    """A wealth product on sale (the same for everyone)."""
    from functions.products import store
    from tests.products.conftest import load, row

    if store.get("FZ0001") is None:
        load(row(code="FZ0001", window_start="2020-01-01", window_end="2099-12-31"))
    return "FZ0001"


MAKERS: dict[str, Callable[[str], str]] = {"booking_id": booking, "application_id": application,
                                            "binding_id": binding, "branch_id": branch, "verify_file": verify_file,
                                            "order_id": order, "code": product}


def parameters(path: str) -> list[str]:
    """The path parameters of an operation (`/x/{booking_id}/cancel` → ['booking_id'])."""
    return re.findall(r"\{(\w+)\}", path)


def make(openid: str, path: str, branch_id: str = BRANCH) -> dict[str, str]:
    """A live resource of `openid` for each path parameter of `path` (bookings and branch
    at `branch_id`)."""
    makers = MAKERS | {"booking_id": lambda who: booking(who, branch_id), "branch_id": lambda who: branch_id}
    return {name: makers[name](openid) for name in parameters(path) if name in makers}
