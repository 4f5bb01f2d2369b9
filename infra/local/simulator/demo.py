"""Who the simulator offers out of the box: the demo customers notify's demo data binds to
openids (so `make run` starts with users who have a card), and the demo cards with the mobile
numbers on file, for trying the binding page."""
from __future__ import annotations

FALLBACK_USERS = [{"openid": "o_demo_customer", "nickname": "演示用户"}]


def _customers() -> tuple:
    try:
        from infra.local.demo.notify import CUSTOMERS
    except ImportError:
        return ()
    return CUSTOMERS


def users() -> list[dict[str, str]]:
    found = [{"openid": openid, "nickname": name}
             for _id, name, _phone, _cards, openids in _customers() for openid in openids]
    return found or [dict(u) for u in FALLBACK_USERS]


def cards() -> list[dict[str, str]]:
    """Every demo card with its holder and the mobile number on file."""
    return [{"name": name, "card_number": number, "phone": phone}
            for _id, name, phone, numbers, _openids in _customers() for number in numbers]
