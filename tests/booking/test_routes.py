"""booking's HTTP routes through Chalice's test client: the H5 steps, the JSON API, staff
calls, sessions, CSRF and ownership on every per-customer route."""
import json
import re
from datetime import UTC
from urllib.parse import urlencode

from functions.booking import actions, store
from infra.local import slsconfig
from tests.booking.conftest import branch, customer, form, staff
from tests.conftest import queued


def post_json(client, path, body, headers):
    return client.http.post(path, body=json.dumps(body), headers=headers)


def post_form(client, path, body, headers):
    return client.http.post(path, body=urlencode(body), headers=headers)


def test_reminders_are_scheduled_at_six_in_the_evening_shanghai_time():
    config = slsconfig.load("local")
    reminders = config.functions["bookingReminders"].events[0]["schedule"]
    assert reminders["rate"] == "cron(0 18 * * ? *)" and reminders["timezone"] == "Asia/Shanghai"
    assert reminders["method"] == "scheduler"


def test_pages_without_a_session_go_to_wechat_oauth(world, client):
    got = client.http.get("/booking/new?branch_id=T01")
    assert got.status_code == 302 and "open.weixin.qq.com" in got.headers["Location"]
    assert "snsapi_base" in got.headers["Location"]
    api = client.http.get("/booking/api/bookings")
    assert api.status_code == 401 and json.loads(api.body)["code"] == "login_required"


def test_the_h5_steps_from_branch_to_confirmation(world, client):
    me = customer("o1")
    index = client.http.get("/booking", headers=me).body.decode()
    assert 'data-branch="T01"' in index and 'data-branch="T02"' not in index
    services = client.http.get("/booking/new?branch_id=T01", headers=me).body.decode()
    assert 'data-service="wealth"' in services and 'data-service="credit_card"' not in services
    dates = client.http.get("/booking/new?branch_id=T01&service=wealth&date=2026-12-01", headers=me).body.decode()
    assert 'data-slot="2026-12-01T01:00:00Z"' in dates and 'data-date="2026-12-02"' in dates
    assert re.search(r'class="chip\s+off"\s+data-date="2026-12-02"', dates)  # closed day shown as such
    step = client.http.get("/booking/new?" + urlencode({"branch_id": "T01", "service": "wealth", "date": "2026-12-01",
                                                       "slot_start": "2026-12-01T01:00:00Z"}), headers=me).body.decode()
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', step).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', step).group(1)
    submit = {"csrf_token": token, "idempotency_key": key, "branch_id": "T01", "service": "wealth",
              "date": "2026-12-01", "slot_start": "2026-12-01T01:00:00Z", "name": "张三", "mobile": "13812345678"}
    headers = {"Cookie": me["Cookie"], "Content-Type": "application/x-www-form-urlencoded"}  # the field carries it
    done = post_form(client, "/booking/new", submit, headers)
    assert done.status_code == 302
    location = done.headers["Location"]
    again = post_form(client, "/booking/new", submit, headers)  # double submit
    assert again.headers["Location"] == location
    page = client.http.get(location, headers=me).body.decode()
    assert "预约成功" in page and "王芳" in page and "138****5678" in page and "张**" in page
    assert "13812345678" not in page
    assert len(store.of_user("o1")) == 1


def test_the_form_page_shows_field_errors_and_stores_nothing(world, client):
    headers = customer("o1", form=True)
    got = post_form(client, "/booking/new", {**form(mobile="12345", name=""), "date": "2026-12-01"}, headers)
    page = got.body.decode()
    assert got.status_code == 400
    assert 'data-field="mobile"' in page and "请填写正确的11位手机号码" in page and 'data-field="name"' in page
    assert store.of_user("o1") == []
    actions.create("o2", form())
    full = post_form(client, "/booking/new", {**form(), "date": "2026-12-01"}, headers)
    assert full.status_code == 409 and "该时段已约满" in full.body.decode()
    assert store.of_user("o1") == []


def test_csrf_is_required_on_every_state_changing_route(world, client):
    booking = actions.create("o1", form())
    no_token = {k: v for k, v in customer("o1").items() if k != "X-CSRF-Token"}
    wrong = {**customer("o1"), "X-CSRF-Token": "forged"}
    for path, body in (("/booking/api/bookings", form(slot_start="2026-12-01T02:00:00Z")),
                       (f"/booking/api/bookings/{booking.id}/cancel", {}),
                       (f"/booking/api/bookings/{booking.id}/reschedule", {"slot_start": "2026-12-01T02:00:00Z"}),
                       ("/booking/new", form(slot_start="2026-12-01T02:00:00Z")),
                       (f"/booking/b/{booking.id}/cancel", {}),
                       (f"/booking/b/{booking.id}/reschedule", {"slot_start": "2026-12-01T02:00:00Z"})):
        for headers in (no_token, wrong):
            got = post_json(client, path, body, headers)
            assert got.status_code == 403, path
    assert store.get(booking.id).status == "confirmed" and len(store.of_user("o1")) == 1


def test_json_api_create_list_cancel_reschedule(world, client):
    me = customer("o1")
    listed = client.http.get("/booking/api/slots?branch_id=T01&service=loans&date=2026-12-01", headers=me)
    slots = json.loads(listed.body)
    assert slots["slots"][0]["time"] == "09:00"
    made = post_json(client, "/booking/api/bookings", form(service="loans"), {**me, "Idempotency-Key": "abc"})
    assert made.status_code == 201
    booking = json.loads(made.body)["booking"]
    assert booking["manager"] == "李强" and booking["mobile"] == "138****5678" and booking["changeable"]
    mine = json.loads(client.http.get("/booking/api/bookings", headers=me).body)["bookings"]
    assert [b["id"] for b in mine] == [booking["id"]]
    moved = post_json(client, f"/booking/api/bookings/{booking['id']}/reschedule",
                      {"slot_start": "2026-12-01T06:00:00Z"}, me)
    assert json.loads(moved.body)["booking"]["time"] == "12月1日 周二 14:00"
    gone = post_json(client, f"/booking/api/bookings/{booking['id']}/cancel", {}, me)
    assert json.loads(gone.body)["booking"]["status"] == "cancelled"
    assert [e["type"] for e in queued(world)] == ["booking_confirmed", "booking_rescheduled", "booking_cancelled"]


def test_json_api_bad_input_answers_field_errors(world, client):
    for body, field, code in (
        (form(mobile="1234"), "mobile", "invalid_mobile"),
        (form(branch_id="NOPE"), "branch_id", "unknown_branch"),
        (form(service="gold"), "service", "unknown_service"),
        (form(slot_start="2026-11-30T00:30:00Z"), "slot_start", "slot_past"),
        (form(slot_start="2026-12-02T01:00:00Z"), "slot_start", "branch_closed"),
    ):
        got = post_json(client, "/booking/api/bookings", body, customer("o1"))
        answer = json.loads(got.body)
        assert got.status_code == 400 and answer["message"]
        assert {"field": field, "code": code} in [{"field": f["field"], "code": f["code"]} for f in answer["fields"]]
    bad_json = client.http.post("/booking/api/bookings", body="{", headers=customer("o1"))
    assert bad_json.status_code == 400 and json.loads(bad_json.body)["fields"][0]["field"] == "body"
    assert store.of_user("o1") == []


def test_json_api_full_slot_and_fourth_booking(world, client):
    for hour in (1, 2, 3):
        assert post_json(client, "/booking/api/bookings", form(slot_start=f"2026-12-01T0{hour}:00:00Z"),
                         customer("o1")).status_code == 201
    fourth = post_json(client, "/booking/api/bookings", form(slot_start="2026-12-01T05:30:00Z"), customer("o1"))
    assert fourth.status_code == 409 and json.loads(fourth.body)["fields"][0]["field"] == "bookings"
    full = post_json(client, "/booking/api/bookings", form(mobile="13812340002"), customer("o2"))
    assert full.status_code == 409 and json.loads(full.body)["fields"][0] == {
        "field": "slot_start", "code": "slot_full", "message": "该时段已约满，请选择其他时段"}


def test_another_customers_booking_is_404_on_every_route(world, client):
    booking = actions.create("o1", form())
    other = customer("o2")
    other_form = customer("o2", form=True)
    checks = [
        client.http.get(f"/booking/api/bookings/{booking.id}", headers=other),
        post_json(client, f"/booking/api/bookings/{booking.id}/cancel", {}, other),
        post_json(client, f"/booking/api/bookings/{booking.id}/reschedule", {"slot_start": "2026-12-01T02:00"}, other),
        client.http.get(f"/booking/b/{booking.id}", headers=other),
        client.http.get(f"/booking/b/{booking.id}/reschedule", headers=other),
        post_form(client, f"/booking/b/{booking.id}/cancel", {}, other_form),
        post_form(client, f"/booking/b/{booking.id}/reschedule", {"slot_start": "2026-12-01T02:00:00Z"}, other_form),
    ]
    assert [c.status_code for c in checks] == [404] * len(checks)
    assert booking.id not in client.http.get("/booking/mine", headers=other).body.decode()
    assert json.loads(client.http.get("/booking/api/bookings", headers=other).body)["bookings"] == []
    assert store.get(booking.id).status == "confirmed"


def test_pages_cancel_and_reschedule(world, client):
    booking = actions.create("o1", form())
    me, me_form = customer("o1"), customer("o1", form=True)
    mine = client.http.get("/booking/mine", headers=me).body.decode()
    assert f'data-booking="{booking.id}"' in mine and "取消" in mine
    picker = client.http.get(f"/booking/b/{booking.id}/reschedule?date=2026-12-01", headers=me).body.decode()
    assert 'data-slot="2026-12-01T02:00:00Z"' in picker and 'data-slot="2026-12-01T01:00:00Z"' not in picker
    moved = post_form(client, f"/booking/b/{booking.id}/reschedule", {"slot_start": "2026-12-01T02:00:00Z"}, me_form)
    assert moved.status_code == 302 and store.get(booking.id).slot_start == "2026-12-01T02:00:00Z"
    bad = post_form(client, f"/booking/b/{booking.id}/reschedule", {"slot_start": "2026-12-02T02:00:00Z"}, me_form)
    assert bad.status_code == 400 and "该网点当天不营业" in bad.body.decode()
    gone = post_form(client, f"/booking/b/{booking.id}/cancel", {}, me_form)
    assert gone.status_code == 302
    assert "已取消" in client.http.get(gone.headers["Location"], headers=me).body.decode()


def test_cancelling_asks_first_and_then_shows_the_cancelled_booking(world, client):
    """取消预约 opens a question, not the cancellation; the answer's form cancels; the page
    after it says the booking is cancelled and offers no change or the old advice."""
    booking = actions.create("o1", form())
    me, me_form = customer("o1"), customer("o1", form=True)
    page = client.http.get(f"/booking/b/{booking.id}", headers=me).body.decode()
    assert f'href="/booking/b/{booking.id}?confirm=cancel"' in page
    assert f'action="/booking/b/{booking.id}/cancel"' not in page
    asked = client.http.get(f"/booking/b/{booking.id}?confirm=cancel", headers=me).body.decode()
    assert "确定取消12月1日 周二 09:00的预约吗" in asked and f'action="/booking/b/{booking.id}/cancel"' in asked
    assert "暂不取消" in asked and store.get(booking.id).status == "confirmed"
    gone = post_form(client, f"/booking/b/{booking.id}/cancel", {}, me_form)
    after = client.http.get(gone.headers["Location"], headers=me).body.decode()
    assert 'data-notice="cancelled"' in after and 'data-status="cancelled"' in after and "data-cancelled" in after
    assert "如需取消或改约" not in after and "confirm=cancel" not in after and "/reschedule" not in after
    assert "确定取消" not in client.http.get(f"/booking/b/{booking.id}?confirm=cancel", headers=me).body.decode()


def test_staff_day_list_is_masked_and_outcomes_are_recorded(world, client, frozen_clock):
    from datetime import datetime

    booking = actions.create("o1", form())
    assert client.http.get("/booking/staff/branches/T01/bookings?date=2026-12-01").status_code == 401
    forged = client.http.get("/booking/staff/branches/T01/bookings?date=2026-12-01",
                             headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code == 401
    listed = client.http.get("/booking/staff/branches/T01/bookings?date=2026-12-01", headers=staff())
    body = listed.body.decode()
    assert json.loads(body)["bookings"][0]["name"] == "张**" and "13812345678" not in body and "张三" not in body
    unknown = client.http.get("/booking/staff/branches/NOPE/bookings?date=2026-12-01", headers=staff("NOPE"))
    assert unknown.status_code == 404
    frozen_clock(datetime(2026, 12, 1, 1, 5, tzinfo=UTC))
    marked = post_json(client, f"/booking/staff/bookings/{booking.id}/outcome", {"status": "no_show"}, staff())
    assert json.loads(marked.body)["booking"]["status"] == "no_show"
    assert post_json(client, "/booking/staff/bookings/nope/outcome", {"status": "attended"}, staff()).status_code == 404


def test_reminder_handler_publishes_for_tomorrow(world, frozen_clock):
    from datetime import datetime

    from functions.booking.app import reminders

    actions.create("o1", form())
    queued(world)
    frozen_clock(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    assert reminders({"job": "booking_reminders"}, None) == {"sent": 1}
    assert [e["type"] for e in queued(world)] == ["booking_reminder"]


def test_the_branch_picker_asks_branch_lookup_once_and_lists_the_nearest_first(world, client, monkeypatch):
    from functions.booking import service
    from functions.branch_lookup import replies
    from functions.common import aws
    from functions.common.intents import Intent, Location
    from infra.local.demo import branch_lookup

    far = [{**branch(f"F{i}"), "lat": 29.95, "lng": 121.70 + i / 100, "district": "北仑区"} for i in range(6)]
    branch_lookup.load(branches=[branch("T01"), branch("T02", bookable=False), *far])
    for b in far:
        store.put_manager(b["id"], service.Manager(f"m{b['id']}", "周明", frozenset({"wealth"})))
    replies.answer(Intent(kind="location_report", openid="o1", location=Location(29.95, 121.75)))
    calls = []
    invoke = aws.invoke
    monkeypatch.setattr(aws, "invoke", lambda key, payload, timeout: calls.append(key) or invoke(key, payload, timeout))
    index = client.http.get("/booking", headers=customer("o1")).body.decode()
    assert calls == ["branchLookupQuery"]
    # the five nearest, then the rest by district (北仑区, 鄞州区)
    assert re.findall(r'data-branch="(\w+)"', index) == ["F5", "F4", "F3", "F2", "F1", "F0", "T01"]


def test_a_day_with_every_slot_past_or_taken_is_shown_full_not_open(world, client, frozen_clock):
    """At 16:30 on Monday today's last slot (16:30, an hour's lead) is gone: today is off and
    marked full, and the page opens on Tuesday; a Saturday whose six slots are all booked
    for the service's one manager is full too, while a closed Sunday says it is closed."""
    from datetime import datetime, timedelta

    saturday = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 09:00 in Ningbo, 09:00-12:00 open
    for i in range(6):
        start = (saturday + timedelta(minutes=30 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        actions.create(f"o{i + 10}", form(slot_start=start, mobile=f"1381234{i:04d}"))
    frozen_clock(datetime(2026, 11, 30, 8, 30, tzinfo=UTC))  # Monday 16:30 in Ningbo
    page = client.http.get("/booking/new?branch_id=T01&service=wealth", headers=customer("o1")).body.decode()
    chips = {day: off for off, day in re.findall(r'class="chip\s*(?:on)?\s*(off)?"\s+data-date="([\d-]+)"', page)}
    assert chips["2026-11-30"] == "off" and chips["2026-12-05"] == "off" and chips["2026-12-06"] == "off"
    assert chips["2026-12-01"] == "" and chips["2026-12-04"] == ""
    notes = re.findall(r'data-date="([\d-]+)"[^>]*>\s*[^<]*<br><small>([^<]+)</small>', page)
    assert dict(notes) == {"2026-11-30": "已满", "2026-12-02": "休息", "2026-12-05": "已满", "2026-12-06": "休息",
                           "2026-12-13": "休息"}
    assert '<div class="slots" data-date="2026-12-01">' in page and 'data-slot="2026-12-01T01:00:00Z"' in page


def _branch_order(page: str) -> list[str]:
    return re.findall(r'data-branch="(\w+)"', page)


def test_the_branch_picker_offers_the_nearest_first_then_by_district(world, client):
    """Without a location: by district (江北区 before 鄞州区 before 镇海区, as sorted) and a
    button to use the phone's; with the page's point (WGS-84, converted by branch_lookup) or
    the customer's last reported location: the nearest first, with their distance."""
    from functions.booking.service import Manager
    from functions.common import intents
    from infra.local import runtime
    from infra.local.demo import branch_lookup
    from tests.booking.conftest import branch
    from tests.conftest import CONFIG

    far = {"T03": ("镇海区", 29.95, 121.71), "T04": ("江北区", 29.90, 121.55), "T05": ("鄞州区", 29.83, 121.56)}
    branch_lookup.load(branches=[branch("T01"), branch("T02", bookable=False)] + [
        branch(i, district=d, lat=lat, lng=lng) for i, (d, lat, lng) in far.items()])
    for i in far:
        store.put_manager(i, Manager(f"m{i}", "周敏", frozenset({"wealth"})))
    me = customer("o_picker")
    page = client.http.get("/booking", headers=me).body.decode()
    assert _branch_order(page) == ["T04", "T01", "T05", "T03"] and 'id="locate"' in page
    assert re.findall(r'data-group="([^"]+)"', page) == ["江北区", "鄞州区", "镇海区"]
    near_t03 = client.http.get("/booking?lat=29.953&lng=121.705", headers=me).body.decode()  # WGS-84 by T03
    assert _branch_order(near_t03)[0] == "T03" and 'data-group="near"' in near_t03 and 'id="locate"' not in near_t03
    assert re.search(r'data-branch="T03".*?<div class="weui-cell__ft">\d+米</div>', near_t03, re.S)
    report = intents.Intent(kind="location_report", openid="o_picker",
                            location=intents.Location(lat=29.901, lng=121.551)).to_dict()
    runtime.call(CONFIG, "branchLookupIntent", report)
    assert _branch_order(client.http.get("/booking", headers=me).body.decode())[0] == "T04"
    bad = client.http.get("/booking?lat=north&lng=121.5", headers=me)
    assert bad.status_code == 400 and "无法识别您的位置" in bad.body.decode()
    assert "invalid_location" not in bad.body.decode()


def test_the_picker_lists_the_bookable_branches_with_a_manager_on_the_roster(world, client):
    """The catalogue's bookable branches and the roster are read at once and met: T02 has a
    manager but takes no bookings, T07 takes bookings but has no manager yet."""
    from infra.local.demo import branch_lookup
    from tests.booking.conftest import branch

    branch_lookup.load(branches=[branch("T01"), branch("T02", bookable=False), branch("T07", lat=29.9, lng=121.6)])
    assert _branch_order(client.http.get("/booking", headers=customer("o_roster")).body.decode()) == ["T01"]


def test_a_link_that_chose_the_service_lists_the_branches_listing_it_and_carries_it(world, client):
    """wealth's in-branch assessment links to /booking?service=wealth: branches that do not
    list wealth are left out, each branch (and the locate button) carries the service to the
    next step, which opens on its dates; an unknown service is refused by field."""
    from functions.booking.service import Manager
    from infra.local.demo import branch_lookup
    from tests.booking.conftest import branch

    branch_lookup.load(branches=[branch("T01"), branch("T06", services=["cash", "loans"], lat=29.9, lng=121.6)])
    store.put_manager("T06", Manager("m6", "陈静", frozenset({"wealth", "loans"})))
    me = customer("o_preset")
    assert _branch_order(client.http.get("/booking", headers=me).body.decode()) == ["T01", "T06"]
    page = client.http.get("/booking?service=wealth", headers=me).body.decode()
    assert _branch_order(page) == ["T01"] and "为您预约理财咨询" in page
    assert 'href="/booking/new?branch_id=T01&amp;service=wealth"' in page
    assert 'data-url="/booking?service=wealth"' in page
    step = client.http.get("/booking/new?branch_id=T01&service=wealth", headers=me).body.decode()
    assert 'data-date="' in step
    bad = client.http.get("/booking?service=gold", headers=me)
    assert bad.status_code == 400 and "请选择业务类型" in bad.body.decode()
