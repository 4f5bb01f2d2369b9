"""The intent contract: what the webhook asks a feature and what the feature answers.

Plain JSON-able data, versioned (`v`). A feature never sees WeChat XML; the webhook never
knows banking. The webhook invokes a feature's `intent` function with `Intent.to_dict()`;
the feature returns `Reply.to_dict()`.

Intent kinds:
  ask              the customer asked for something, by words, voice or a menu click: `name`
                   is one of NAMES (the webhook alone reads the customer's words and decides
                   it); `query` is the place or branch words of a `branch.search` and
                   `service` a branch service filter (`atm`) of the branch intents
  location         a location message or location_select menu event (`location`)
  location_report  the LOCATION event, auto-reported position (`location`); never answered
  unsubscribe      the user unfollowed
  delivery_report  TEMPLATESENDJOBFINISH (`template_msg_id`, `status`)

Version 2 dropped the kinds `text` and `click` of version 1, which carried the customer's
raw words and menu keys for each feature to match again.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

VERSION = 2

IntentKind = Literal["ask", "location", "location_report", "unsubscribe", "delivery_report"]

# What a customer can ask for, by name. The webhook maps words, voice and menu keys to these
# (functions/webhook/phrases.py) and each name to the one feature that answers it.
BRANCH_NEARBY = "branch.nearby"      # the nearest branches to the customer's last location
BRANCH_SEARCH = "branch.search"      # branches matching `query` (a district, street or name)
BOOKING_BOOK = "booking.book"        # book a customer manager
BOOKING_MINE = "booking.mine"        # my bookings
LOAN_APPLY = "loan.apply"            # apply for a loan
CARD_APPLY = "card.apply"            # apply for a credit card
LOAN_MINE = "loan.mine"              # my loan and card applications
CARD_BIND = "card.bind"              # bind a bank card (alerts and bills)
BILLS_SHOW = "bills.show"            # my bills
MESSAGES_SHOW = "messages.show"      # my messages
WEALTH_CATALOGUE = "wealth.catalogue"  # wealth-management products on sale
WEALTH_MINE = "wealth.mine"          # my wealth products: holdings and orders
NAMES = frozenset({BRANCH_NEARBY, BRANCH_SEARCH, BOOKING_BOOK, BOOKING_MINE, LOAN_APPLY, CARD_APPLY, LOAN_MINE,
                   CARD_BIND, BILLS_SHOW, MESSAGES_SHOW, WEALTH_CATALOGUE, WEALTH_MINE})
ATM = "atm"  # the `service` of a branch intent for cash machines


@dataclass(frozen=True)
class Location:
    lat: float
    lng: float
    label: str = ""
    precision: float = 0.0


@dataclass(frozen=True)
class Intent:
    kind: str  # IntentKind
    openid: str
    msg_id: str = ""
    create_time: int = 0
    name: str = ""
    query: str = ""
    service: str = ""
    location: Location | None = None
    template_msg_id: str = ""
    status: str = ""
    v: int = VERSION

    def to_dict(self) -> dict[str, Any]:
        """`kind`, `v` and the fields that are set, in declaration order (by hand rather
        than asdict(): this runs on every WeChat message)."""
        out: dict[str, Any] = {"kind": self.kind}
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value:
                out[name] = value.__dict__.copy() if name == "location" else value
        out["v"] = self.v
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Intent:
        if data.get("v") != VERSION:
            raise ValueError(f"unsupported intent version {data.get('v')!r}")
        loc = data.get("location")
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "location"}
        return cls(**fields, location=Location(**loc) if loc else None)


_OPTIONAL = ("openid", "msg_id", "create_time", "name", "query", "service", "location", "template_msg_id", "status")


@dataclass(frozen=True)
class Article:
    """One news article; passive news replies show one."""

    title: str
    description: str
    url: str
    image: str = ""


@dataclass(frozen=True)
class Reply:
    """`text`, one `news` article, or `none` (the webhook answers `success`)."""

    type: Literal["text", "news", "none"] = "none"
    text: str = ""
    article: Article | None = None
    v: int = VERSION
    extra: dict = field(default_factory=dict)

    @classmethod
    def say(cls, text: str) -> Reply:
        return cls(type="text", text=text)

    @classmethod
    def news(cls, title: str, description: str, url: str, image: str = "") -> Reply:
        return cls(type="news", article=Article(title, description, url, image))

    @classmethod
    def nothing(cls) -> Reply:
        return cls(type="none")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"v": self.v, "type": self.type}
        if self.type == "text":
            out["text"] = self.text
        if self.type == "news" and self.article:
            out["article"] = asdict(self.article)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        if data.get("v") != VERSION or data.get("type") not in ("text", "news", "none"):
            raise ValueError("malformed intent reply")
        article = data.get("article")
        return cls(type=data["type"], text=data.get("text", ""), article=Article(**article) if article else None)


def handler(answer):
    """Wrap a feature's `answer(intent) -> Reply` as a Lambda handler taking the JSON form."""

    def lambda_handler(event: dict, context: Any = None) -> dict:
        return answer(Intent.from_dict(event)).to_dict()

    lambda_handler.__doc__ = answer.__doc__
    return lambda_handler
