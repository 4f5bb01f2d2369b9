"""The one error shape, whatever fails: our errors, Chalice's own refusals, AWS outages."""
import json

import pytest
from botocore.exceptions import ClientError
from chalice.test import Client

from functions.common import http, session
from functions.common.errors import NotFound

app = http.FeatureApp(app_name="http-test")


@app.route("/t/api/things", methods=["POST"], content_types=["application/json", "application/x-www-form-urlencoded"])
def create_thing():
    return http.body(app.current_request, flat=True)


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


def test_flat_body_turns_scalars_into_text(client):
    r = client.http.post("/t/api/things", headers={"Content-Type": "application/json"},
                         body=json.dumps({"a": "x", "n": 5, "b": True, "z": None}))
    assert r.status_code == 200
    assert r.json_body == {"a": "x", "n": "5", "b": "true"}


def test_flat_body_refuses_nested_values_field_by_field(client):
    r = client.http.post("/t/api/things", headers={"Content-Type": "application/json"},
                         body=json.dumps({"service": ["x"], "name": {"a": 1}}))
    assert r.status_code == 400
    assert {f["field"] for f in r.json_body["fields"]} == {"service", "name"}
    assert r.json_body["code"] == "invalid_input"


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe"])
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


def test_page_with_session_knows_the_customer(client):
    cookie = f"{session.COOKIE}={session.issue('o_abc')}"
    r = client.http.get("/t/page/mine", headers={"Cookie": cookie})
    assert r.json_body == {"openid": "o_abc"}


def test_tampered_session_and_state_are_refused():
    value = session.issue("o_abc")
    assert session.verify(value) == "o_abc"
    assert session.verify(value.replace("o_abc", "o_xyz")) is None
    state = session.state_for("/booking/home")
    assert session.return_to_from(state) == "/booking/home"
    assert session.return_to_from(session.state_for("//evil.example")) is None
    assert session.return_to_from(state[:-1] + ("A" if state[-1] != "A" else "B")) is None
