"""The one error shape, whatever fails: our errors, Chalice's own refusals, AWS outages."""
import json

import pytest
from botocore.exceptions import ClientError
from chalice.test import Client

from functions.common import http, session
from functions.common.errors import NotFound
from functions.common.http import TEXT, Field
from tests.sessions import cookie, signed_in

app = http.FeatureApp(app_name="http-test")


@app.route("/t/api/things", methods=["POST"], content_types=["application/json", "application/x-www-form-urlencoded"])
def create_thing():
    return http.parse(app.current_request, THING)


@app.route("/t/api/things")
def find_things():
    return http.query(app.current_request, {"q": Field(5)})


THING = {"a": TEXT, "n": Field(number=True), "b": Field(flag=True), "z": TEXT, "service": TEXT, "name": Field(4)}


@app.route("/t/api/missing")
def missing():
    raise NotFound()


@app.route("/t/page/missing")
def missing_page():
    raise NotFound()


@app.route("/t/api/throttled")
def throttled():
    raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "PutItem")


@app.route("/t/api/boom")
def boom():
    raise RuntimeError("secret detail 13812345678")


@app.route("/t/page/mine")
def mine():
    return {"openid": http.customer(app.current_request)}


@pytest.fixture
def client():
    with Client(app) as c:
        yield c


def test_declared_fields_come_as_text_and_undeclared_ones_are_dropped(client):
    r = client.http.post("/t/api/things", headers={"Content-Type": "application/json"},
                         body=json.dumps({"a": "x", "n": 5, "b": True, "z": None, "admin": True}))
    assert r.status_code == 200
    assert r.json_body == {"a": "x", "n": "5", "b": "true"}


def test_a_form_gives_the_same_fields(client):
    r = client.http.post("/t/api/things", headers={"Content-Type": "application/x-www-form-urlencoded"},
                         body=b"a=x&n=5&b=true&admin=1")
    assert r.json_body == {"a": "x", "n": "5", "b": "true"}


@pytest.mark.parametrize("wrong", [7, 1.5, True, ["x"], {"a": 1}], ids=lambda v: type(v).__name__)
def test_a_text_field_of_any_other_json_type_is_a_field_error(client, wrong):
    r = client.http.post("/t/api/things", headers={"Content-Type": "application/json"},
                         body=json.dumps({"a": wrong, "service": "ok"}))
    assert r.status_code == 400
    assert r.json_body["code"] == "invalid_input"
    assert r.json_body["fields"] == [{"field": "a", "code": "invalid_type", "message": "格式不正确"}]


def test_every_bad_field_is_reported_at_once(client):
    r = client.http.post("/t/api/things", headers={"Content-Type": "application/json"},
                         body=json.dumps({"service": ["x"], "name": "五个汉字啊", "n": {"a": 1}}))
    assert r.status_code == 400
    assert {(f["field"], f["code"]) for f in r.json_body["fields"]} == {
        ("service", "invalid_type"), ("name", "too_long"), ("n", "invalid_type")}


def test_a_query_field_longer_than_declared_is_a_field_error(client):
    assert client.http.get("/t/api/things?q=abcde&other=x").json_body == {"q": "abcde"}
    r = client.http.get("/t/api/things?q=abcdef")
    assert (r.status_code, r.json_body["fields"][0]["code"]) == (400, "too_long")


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b"[" * 100000 + b"]" * 100000])
def test_bad_json_is_a_400(client, raw):
    r = client.http.post("/t/api/things", headers={"Content-Type": "application/json"}, body=raw)
    assert r.status_code == 400
    assert r.json_body["fields"][0]["field"] == "body"


def test_unlisted_content_type_gets_our_shape(client):
    r = client.http.post("/t/api/things", headers={"Content-Type": "text/xml"}, body=b"<x/>")
    assert r.status_code == 415
    assert r.json_body == {"code": "unsupported_media_type", "message": "不支持的请求格式"}


def test_api_and_page_errors(client):
    r = client.http.get("/t/api/missing")
    assert (r.status_code, r.json_body["code"]) == (404, "not_found")
    page = client.http.get("/t/page/missing")
    assert page.status_code == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert "not_found" in page.body.decode()


def test_throttling_is_a_clean_503(client):
    r = client.http.get("/t/api/throttled")
    assert (r.status_code, r.json_body["code"]) == (503, "unavailable")


def test_unexpected_error_is_a_500_that_shows_nothing(client, capsys):
    r = client.http.get("/t/api/boom")
    assert (r.status_code, r.json_body["code"]) == (500, "internal")
    assert "secret detail" not in r.body.decode()
    assert "13812345678" not in capsys.readouterr().out


def test_page_without_session_redirects_to_wechat_login(client):
    r = client.http.get("/t/page/mine")
    assert r.status_code == 302
    assert "connect/oauth2/authorize" in r.headers["Location"]
    assert "snsapi_base" in r.headers["Location"]
    assert r.headers["Set-Cookie"].startswith(f"{session.LOGIN_COOKIE}=")  # the login is bound to this browser


def test_page_with_session_knows_the_customer(aws, client):
    r = client.http.get("/t/page/mine", headers=cookie(signed_in("o_abc")))
    assert r.json_body == {"openid": "o_abc"}


def test_a_session_is_found_by_its_whole_cookie_only(aws):
    signed = signed_in("o_abc")
    assert session.find(signed.cookie_value).openid == "o_abc"
    key, secret = signed.cookie_value.split(".")
    other = signed_in("o_xyz")
    last = "B" if secret.endswith("A") else "A"  # a different last character, whatever the random secret
    for forged in (f"{other.customer_key}.{secret}", f"{key}.{other.secret}", f"{key}.{secret[:-1]}{last}", key, secret,
                   "", f"{signed.cookie_value}.x", f"{key}.{secret[::-1]}"):
        assert session.find(forged) is None, forged


@app.route("/t/page/html")
def html_page():
    return http.html_response("<p>x</p>")


@app.route("/t/page/moved")
def moved():
    return http.redirect("/t/page/html")


@app.route("/t/api/plain")
def plain():
    return {"ok": True}


ANSWERS = [("GET", "/t/page/html", 200), ("GET", "/t/page/moved", 302), ("GET", "/t/api/plain", 200),
           ("GET", "/t/api/missing", 404), ("GET", "/t/page/missing", 404), ("GET", "/t/page/mine", 302),
           ("GET", "/t/api/boom", 500), ("POST", "/t/api/things", 415), ("DELETE", "/t/api/plain", 405)]


def _ask(client, method: str, path: str):
    if method == "POST":  # in a content type Chalice refuses itself
        return client.http.post(path, headers={"Content-Type": "text/xml"}, body=b"<x/>")
    return client.http.request(method, path)


def test_every_answer_carries_the_security_headers(client):
    """Ours, Chalice's own refusals (415, 405) and a view's plain dict alike."""
    for method, path, status in ANSWERS:
        r = _ask(client, method, path)
        assert r.status_code == status, (method, path, r.status_code)
        policy = r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "frame-ancestors" in policy, path
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in r.headers  # plain HTTP on 127.0.0.1
        if r.headers.get("Content-Type", "").startswith("text/html"):
            assert "script-src 'sha256-" in policy and "https://res.wx.qq.com https://res2.wx.qq.com" in policy


def test_in_aws_nothing_frames_a_page_and_https_is_pinned(client, monkeypatch):
    from functions.common import config

    monkeypatch.setenv("STAGE", "prod")
    config.reset()
    for method, path, _ in ANSWERS:
        r = _ask(client, method, path)
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"], path
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    page = client.http.get("/t/page/html").headers["Content-Security-Policy"]
    assert "style-src https://res.wx.qq.com 'sha256-" in page
    assert "form-action 'self' https://open.weixin.qq.com" in page


def test_only_static_inline_scripts_and_styles_can_be_hashed(tmp_path, monkeypatch):
    from functions.common import pages

    (tmp_path / "feature" / "pages").mkdir(parents=True)
    template = tmp_path / "feature" / "pages" / "x.html"
    template.write_text('<script>var a = 1;</script><script type="application/json">{{ data|tojson }}</script>'
                        '<script src="https://res.wx.qq.com/x.js"></script><style>p { color: red }</style>')
    monkeypatch.setattr(pages, "FUNCTIONS", tmp_path)
    pages.inline_hashes.cache_clear()
    try:
        assert pages.inline_hashes() == (("'sha256-+dZ6udsWxNVoGfScAq7t5IIF5UJb4F6RhjbN6oe1p4w='",),
                                         ("'sha256-ngewhhP73WDIbgwseeu52VAAJgKdGUsu1IUQQsAm8m4='",))
        template.write_text("<script>var a = {{ a|tojson }};</script>")
        pages.inline_hashes.cache_clear()
        with pytest.raises(ValueError, match="static"):
            pages.inline_hashes()
    finally:
        pages.inline_hashes.cache_clear()
