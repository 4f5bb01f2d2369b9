"""The simulator speaks WeChat's protocol: what it pushes verifies and decrypts with
wechatpy (as the receiving side), and it reads plain and encrypted replies back."""
from __future__ import annotations

import threading

import pytest
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import ArticlesReply, TextReply
from wechatpy.utils import check_signature
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from infra.local.simulator import wechat_side

CREDS = wechat_side.Credentials(token="tok3n", aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", app_id="wxtest01")


@pytest.fixture
def receiver():
    """A WeChat endpoint built on wechatpy alone: verifies, decrypts, records, replies."""
    crypto = WeChatCrypto(CREDS.token, CREDS.aes_key, CREDS.app_id)
    seen: list = []

    @Request.application
    def app(request):
        args = request.args
        check_signature(CREDS.token, args["signature"], args["timestamp"], args["nonce"])
        body = request.get_data()
        encrypted = args.get("encrypt_type") == "aes"
        if encrypted:
            body = crypto.decrypt_message(body, args["msg_signature"], args["timestamp"], args["nonce"])
        message = parse_message(body)
        seen.append((message, dict(args)))
        if message.type == "text" and message.content == "news":
            reply = ArticlesReply(message=message)
            reply.add_article({"title": "预约客户经理", "description": "选择网点和时间", "url": "http://x/booking",
                               "image": "http://x/a.png"})
        elif message.type == "text" and message.content == "quiet":
            return Response("success")
        else:
            reply = TextReply(message=message, content=f'收到 <a href="http://x/b?id=1">{message.type}</a>')
        xml = reply.render()
        if encrypted:
            xml = crypto.encrypt_message(xml, args["nonce"], args["timestamp"])
        return Response(xml, mimetype="text/xml")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/wechat", seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("encrypt", [True, False])
def test_text_round_trip(receiver, encrypt):
    url, seen = receiver
    exchange = wechat_side.push(url, wechat_side.text("oUser1", "附近网点"), "oUser1", CREDS, encrypt=encrypt)
    message, args = seen[-1]
    assert (message.source, message.content, message.target) == ("oUser1", "附近网点", wechat_side.ACCOUNT_ID)
    assert ("msg_signature" in args) is encrypt and args["openid"] == "oUser1"
    assert exchange.status == 200 and exchange.encrypted is encrypt
    assert exchange.reply == {"type": "text", "text": '收到 <a href="http://x/b?id=1">text</a>'}


def test_location_and_menu_events_parse_as_wechat_sends_them(receiver):
    url, seen = receiver
    wechat_side.push(url, wechat_side.location("oUser2", 29.8706, 121.5528, "天一广场"), "oUser2", CREDS)
    location = seen[-1][0]
    assert (location.type, location.location, location.label) == ("location", ("29.8706", "121.5528"), "天一广场")
    assert location.id  # a MsgId, for de-duplication

    wechat_side.push(url, wechat_side.event("oUser2", "CLICK", "BOOKING"), "oUser2", CREDS)
    click = seen[-1][0]
    assert (click.type, click.event, click.key) == ("event", "click", "BOOKING")

    xml = wechat_side.location_select("oUser2", "BRANCH_NEARBY", 29.87, 121.55, "鼓楼")
    wechat_side.push(url, xml, "oUser2", CREDS)
    select = seen[-1][0]
    assert (select.event, select.key) == ("location_select", "BRANCH_NEARBY")
    assert (select.location_x, select.location_y, select.label) == ("29.87", "121.55", "鼓楼")


def test_news_and_empty_replies(receiver):
    url, _ = receiver
    news = wechat_side.push(url, wechat_side.text("oUser3", "news"), "oUser3", CREDS).reply
    assert news == {"type": "news", "articles": [
        {"title": "预约客户经理", "description": "选择网点和时间", "url": "http://x/booking", "image": "http://x/a.png"}]}
    assert wechat_side.push(url, wechat_side.text("oUser3", "quiet"), "oUser3", CREDS, encrypt=False).reply == {
        "type": "none"}


def test_text_with_cdata_terminator_survives():
    xml = wechat_side.text("oUser4", "a]]>b<c>&")
    assert parse_message(xml).content == "a]]>b<c>&"
