"""The H5 pages: login, the stepped form, field errors on the page, the result."""
import re
from datetime import date
from urllib.parse import urlencode

from tests.loan_apply.conftest import form, raw_items, resident_id
from tests.sessions import cookie, customer, signed_in


def page_headers(openid: str, posting: bool = False) -> dict:
    """A page's request: the session cookie (a form's CSRF token goes in its fields)."""
    return customer(openid, form=True, csrf=False) if posting else cookie(signed_in(openid))


def post_form(api, openid: str, data: dict, key: str = "page-key-000001"):
    signed = signed_in(openid)
    fields = {**data, "csrf_token": signed.csrf_token, "idempotency_key": key}
    headers = {**cookie(signed), "Content-Type": "application/x-www-form-urlencoded"}
    return api.http.post("/loans/apply", headers=headers, body=urlencode(fields))


def test_without_a_session_the_form_sends_the_user_through_wechat_oauth(offline_api):
    response = offline_api.http.get("/loans/apply?product=credit_card")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://open.weixin.qq.com/connect/oauth2/authorize?")


def test_the_form_has_three_steps_consent_and_the_tokens(api):
    signed = signed_in("o_alice")
    html = api.http.get("/loans/apply?product=credit_card", headers=cookie(signed)).body.decode()
    assert html.count('class="step"') == 3 and 'id="summary"' in html
    assert f'name="csrf_token" value="{signed.csrf_token}"' in html
    assert re.search(r'name="idempotency_key" value="[A-Za-z0-9_-]{20,}"', html)
    assert 'name="consent_version" value="2026-01"' in html and "个人信息处理授权书" in html
    assert 'value="credit_card" checked' in html
    assert "weui" in html and "不构成授信决定" in html


def test_field_errors_come_back_on_the_page_and_nothing_is_stored(api):
    response = post_form(api, "o_alice", form(phone="123", consent=None))
    assert response.status_code == 400
    html = response.body.decode()
    assert 'data-field="phone"' in html and "请输入有效的中国大陆手机号码" in html
    assert 'data-field="consent"' in html
    assert 'data-start="2"' in html  # opens on the step with the first bad field
    assert 'name="idempotency_key" value="page-key-000001"' in html  # the same submission, retried
    assert raw_items() == []


def test_a_forged_form_is_refused(api):
    fields = {**form(), "csrf_token": "forged", "idempotency_key": "page-key-000001"}
    response = api.http.post("/loans/apply", headers=page_headers("o_alice", posting=True), body=urlencode(fields))
    assert response.status_code == 403 and raw_items() == []


def test_a_submitted_form_shows_the_prescreen_at_once_masked(api):
    data = form(name="欧阳明月", phone="13987654321", id_number=resident_id(date(1988, 8, 8)), monthly_income="4000")
    response = post_form(api, "o_alice", data)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert re.fullmatch(r"/loans/mine/LA\w+\?submitted=1", location)
    again = post_form(api, "o_alice", data)  # double submit: same application
    assert again.headers["Location"] == location

    html = api.http.get(location, headers=page_headers("o_alice")).body.decode()
    assert 'data-verdict="needs_review"' in html and "需人工审核" in html
    assert 'data-reason="instalment_high"' in html and "不构成授信决定" in html
    assert "3302**********" in html and "139****4321" in html and "欧**" in html
    for plain in ("欧阳明月", "13987654321", data["id_number"]):
        assert plain not in html


def test_my_applications_page_lists_own_and_hides_others(api):
    post_form(api, "o_alice", form())
    html = api.http.get("/loans/mine", headers=page_headers("o_alice")).body.decode()
    app_id = re.search(r'data-application="(LA\w+)"', html).group(1)
    assert "已提交" in html
    assert api.http.get(f"/loans/mine/{app_id}", headers=page_headers("o_bob")).status_code == 404
    assert "还没有" in api.http.get("/loans/mine", headers=page_headers("o_bob")).body.decode()


def test_a_second_open_application_is_an_error_page_linking_the_open_one_without_a_code(api):
    assert post_form(api, "o_alice", form()).status_code == 302
    [first] = [i["application_id"]["S"] for i in raw_items() if i["sk"]["S"] == "APP"]
    response = post_form(api, "o_alice", form(amount="80000"), key="page-key-000002")
    assert response.status_code == 409
    html = response.body.decode()
    assert f'href="/loans/mine/{first}"' in html and "正在处理中" in html
    assert "application_open" not in re.sub(r'data-code="[a-z_]+"', "", html)
    assert len([i for i in raw_items() if i["sk"]["S"] == "APP"]) == 1


def test_an_amount_outside_the_product_comes_back_beside_the_amount(api):
    response = post_form(api, "o_alice", form(amount="5000000"))
    assert response.status_code == 400
    html = response.body.decode()
    assert 'data-field="amount"' in html and "个人消费贷款可申请¥1,000.00至¥300,000.00" in html
    assert 'data-start="1"' in html
    assert raw_items() == []
