"""The intent contract: what the webhook asks a feature and what the feature answers.

Plain JSON-able data, versioned (`v`). A feature never sees WeChat XML; the webhook never
knows banking. The webhook invokes a feature's `intent` function with `Intent.to_dict()`;
the feature returns `Reply.to_dict()`.

Intent kinds:
  text             a text message (`text`)
  location         a location message or location_select menu event (`location`)
  location_report  the LOCATION event, auto-reported position (`location`); never answered
  click            a menu CLICK event (`key`)
  unsubscribe      the user unfollowed
  delivery_report  TEMPLATESENDJOBFINISH (`template_msg_id`, `status`)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

VERSION = 1

IntentKind = Literal["text", "location", "location_report", "click", "unsubscribe", "delivery_report"]


@dataclass(frozen=True)
class Location:
    lat: float
    lng: float
    label: str = ""
    precision: float = 0.0


@dataclass(frozen=True)
class Intent:
    kind: str
    openid: str
    msg_id: str = ""
    create_time: int = 0
    text: str = ""
    key: str = ""
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


_OPTIONAL = ("openid", "msg_id", "create_time", "text", "key", "location", "template_msg_id", "status")


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
