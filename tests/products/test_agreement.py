"""The mobile wealth-management agreement: shown in full, accepted explicitly; each
acceptance records the version, the hash of the text shown, the time, the openid and (sealed)
the source IP and user agent, append-only; a new version asks again."""
from __future__ import annotations

import hashlib
import re
from urllib.parse import urlencode

from typer.testing import CliRunner

from functions.common import pii
from functions.products import actions, store
from infra.cli.products import app as cli
from tests.sessions import customer

TEXT_V1 = "第一条 演示协议正文。\n第二条 理财非存款。"
UA = "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50"


def publish(tmp_path, version: str, text: str):
    path = tmp_path / f"agreement-{version}.txt"
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(cli, ["agreement", str(path), "--version", version])


def shown(client, openid: str = "o1") -> tuple[str, dict[str, str]]:
    html = client.http.get("/products/agreement", headers=customer(openid)).body.decode()
    fields = dict(re.findall(r'name="(version|sha256)" value="([^"]+)"', html))
    return html, fields


def accept(client, fields: dict, openid: str = "o1"):
    headers = {**customer(openid, form=True), "User-Agent": UA}
    return client.http.post("/products/agreement", body=urlencode(fields), headers=headers)


def acceptances(openid: str) -> list[store.Acceptance]:
    return list(store.Acceptance.query(store.user_pk(openid), store.Acceptance.sk.startswith("AGREEMENT#")))


def test_the_agreement_is_shown_in_full_and_accepted_explicitly(world, client, tmp_path):
    assert publish(tmp_path, "v1", TEXT_V1).exit_code == 0
    html, fields = shown(client)
    assert "第一条 演示协议正文。" in html and "第二条 理财非存款。" in html and 'data-version="v1"' in html
    assert fields == {"version": "v1", "sha256": hashlib.sha256(TEXT_V1.encode()).hexdigest()}
    unticked = accept(client, fields)
    assert unticked.status_code == 400 and "请阅读并勾选同意协议" in unticked.body.decode()
    assert acceptances("o1") == [] and not actions.has_accepted("o1")
    done = accept(client, {**fields, "agree": "true"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/products/agreement?notice=accepted")
    [record] = acceptances("o1")
    assert (record.openid, record.version, record.sha256) == ("o1", "v1", fields["sha256"])
    assert record.accepted_at == "2026-11-30T02:00:00Z"
    opened = pii.unseal(record.sealed, {"openid": "o1"})
    assert opened["user_agent"] == UA and "source_ip" in opened
    assert UA not in record.sealed
    html, _ = shown(client)
    assert "data-accepted" in html and "data-accept" not in html.replace("data-accepted", "")


def test_accepting_again_keeps_the_first_record(world, client, tmp_path):
    publish(tmp_path, "v1", TEXT_V1)
    _, fields = shown(client)
    accept(client, {**fields, "agree": "true"})
    assert accept(client, {**fields, "agree": "true"}).status_code == 302
    assert len(acceptances("o1")) == 1


def test_a_new_version_asks_again_and_an_old_form_is_refused(world, client, tmp_path):
    publish(tmp_path, "v1", TEXT_V1)
    _, old = shown(client)
    accept(client, {**old, "agree": "true"})
    assert publish(tmp_path, "v2", TEXT_V1 + "\n第三条 新增条款。").exit_code == 0
    assert not actions.has_accepted("o1")
    html, new = shown(client)
    assert "第三条 新增条款。" in html and new["version"] == "v2" and "data-accepted" not in html
    stale = accept(client, {**old, "agree": "true"})
    assert stale.status_code == 409 and "协议已更新" in stale.body.decode()
    forged = accept(client, {**new, "sha256": "0" * 64, "agree": "true"})
    assert forged.status_code == 409
    assert accept(client, {**new, "agree": "true"}).status_code == 302
    assert sorted(r.version for r in acceptances("o1")) == ["v1", "v2"]  # the first is kept


def test_a_versions_text_never_changes(world, tmp_path):
    assert publish(tmp_path, "v1", TEXT_V1).exit_code == 0
    again = publish(tmp_path, "v1", "改过的正文")
    assert again.exit_code == 1 and "已存在且内容不同" in again.output
    assert store.current_agreement().text == TEXT_V1
    assert publish(tmp_path, "v1", TEXT_V1).exit_code == 0  # the same text again is fine
    assert publish(tmp_path, "bad version", TEXT_V1).exit_code == 1
    assert publish(tmp_path, "v3", " ").exit_code == 1


def test_without_an_agreement_the_page_says_it_is_unavailable(world, client):
    got = client.http.get("/products/agreement", headers=customer("o1"))
    assert got.status_code == 503


def test_acceptance_needs_a_session_and_its_csrf_token(world, client, tmp_path):
    publish(tmp_path, "v1", TEXT_V1)
    _, fields = shown(client)
    anonymous = client.http.post("/products/agreement", body=urlencode({**fields, "agree": "true"}),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert anonymous.status_code == 302 and "open.weixin.qq.com" in anonymous.headers["Location"]
    no_token = client.http.post("/products/agreement", body=urlencode({**fields, "agree": "true"}),
                                headers=customer("o1", form=True, csrf=False))
    assert no_token.status_code == 403 and acceptances("o1") == []
