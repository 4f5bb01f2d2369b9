"""The H5 pages under a prefix, as AWS serves them: under the stage on execute-api's URL
(`/dev/...`, the event's `path` without it) and under a custom domain's base path (`/wx/...`,
the event's `path` with it). A customer logs in through the fake WeChat OAuth, then every
link and form of every page reachable from the pages of serverless.yml is followed: none may
answer 404 or API Gateway's 403, none may leave the prefix."""
from __future__ import annotations

from collections import Counter, deque
from html.parser import HTMLParser
from http.cookiejar import Cookie
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from infra.local.gateway import Mount, Router, routes_from

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CUSTOMER = "o_demo_customer"  # demo data: a bound card, a loan application, bills
MAX_PAGES = 200
# Links of one kind (method, route, the names of their query and form fields) are built by one
# template: three of a kind are followed, not each of the thirty branches' or products' pages.
PER_KIND = 3
# The crawl starts at every page route of serverless.yml without its query; one that needs a
# query to name what it shows (booking's wizard without a branch) may answer 404 there. Every
# link a page hands out must not.
SEED = "serverless.yml"


@pytest.fixture(scope="module", params=[Mount("stage", "dev"), Mount("base_path", "wx")], ids=lambda m: m.kind)
def mounted(request):
    from infra.local.stack import LocalStack

    stack = LocalStack(port=0, schedules=False, retry_delay_s=0, mount=request.param).start()
    try:
        yield stack
    finally:
        stack.stop()


class Targets(HTMLParser):
    """Every link and form of a page: (method, url, fields), and every attribute of ours that
    holds a path."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, dict[str, str]]] = []
        self.paths: list[str] = []
        self._form: tuple[str, str, dict[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.paths += [v for k, v in a.items() if k in ("href", "action", "src") or k.startswith("data-")
                       if v.startswith("/")]
        if tag == "a" and "href" in a:
            self.found.append(("GET", a["href"], {}))
        elif tag == "form":
            self._form = ((a.get("method") or "get").upper(), a.get("action", ""), {})
            self.found.append(self._form)
        elif tag in ("input", "select", "textarea") and self._form is not None and a.get("name"):
            self._form[2][a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def _browser(stack) -> requests.Session:
    browser = requests.Session()
    host = urlsplit(stack.url).hostname
    browser.cookies.set_cookie(Cookie(0, "sim_openid", CUSTOMER, None, False, host, False, False, "/", True,
                                      False, None, False, None, None, {}))
    return browser


def _login(stack, browser: requests.Session, page: str) -> requests.Response:
    res = browser.get(stack.api_url + page, timeout=30)
    assert res.status_code == 200, res.text[:300]
    assert [urlsplit(h.headers["Location"]).path for h in res.history][-1] == urlsplit(stack.api_url).path + page
    return res


def test_the_login_works_under_the_prefix(mounted):
    prefix = mounted.mount.prefix
    browser = _browser(mounted)
    first = browser.get(f"{mounted.api_url}/booking/mine", timeout=30, allow_redirects=False)
    assert first.status_code == 302
    login_cookie = next(c for c in first.raw.headers.getlist("Set-Cookie") if c.startswith("wxlogin="))
    assert f"Path={prefix}/oauth/callback;" in login_cookie
    callback_uri = requests.utils.quote(mounted.api_url + "/oauth/callback", safe="")
    assert f"redirect_uri={callback_uri}" in first.headers["Location"]
    res = _login(mounted, browser, "/booking/mine")
    callback = res.history[-1]
    assert urlsplit(callback.url).path == f"{prefix}/oauth/callback"
    set_cookies = callback.raw.headers.getlist("Set-Cookie")
    assert any(c.startswith("wxsession=") and f"Path={prefix}/;" in c for c in set_cookies)
    assert {c.path for c in browser.cookies if c.name == "wxsession"} == {prefix + "/"}


def test_every_link_and_form_stays_under_the_prefix(mounted):
    prefix, origin = mounted.mount.prefix, mounted.url
    browser = _browser(mounted)
    _login(mounted, browser, "/booking/mine")
    starts = [r.path for r in routes_from(mounted.config) if r.method == "GET" and "{" not in r.path
              and "/api/" not in r.path and "/staff/" not in r.path and not r.path.endswith("/health")
              and not r.path.startswith(("/wechat", "/oauth"))]
    assert len(starts) >= 5
    queue = deque(("GET", mounted.api_url + path, {}, SEED) for path in starts)
    seen: set[tuple[str, str]] = set()
    kinds: Counter = Counter()
    router = Router(routes_from(mounted.config))
    problems: list[str] = []
    while queue and len(seen) < MAX_PAGES:
        method, url, fields, source = queue.popleft()
        url = url.split("#")[0]
        if (method, url) in seen:
            continue
        parts = urlsplit(url)
        route = router.resolve(method, parts.path.removeprefix(prefix))
        kind = (method, route[0].path if route else parts.path, *sorted(parse_qs(parts.query)), *sorted(fields))
        if kinds[kind] >= PER_KIND:
            continue
        kinds[kind] += 1
        seen.add((method, url))
        res = browser.request(method, url, data=fields or None, timeout=30) if method == "POST" else \
            browser.get(url, params=fields or None, timeout=30)
        for hop in [*res.history, res]:
            where = urlsplit(hop.url)
            if f"{where.scheme}://{where.netloc}" == origin and not where.path.startswith(prefix + "/") \
                    and not where.path.startswith("/_wechat/"):
                problems.append(f"{method} {url} (from {source}) went to {hop.url}")
        refused = res.status_code == 404 or (res.status_code == 403 and "message" in res.text[:40])
        if refused and source != SEED:
            problems.append(f"{method} {url} (from {source}) answered {res.status_code}")
        if "text/html" not in res.headers.get("Content-Type", ""):
            continue
        page = Targets()
        page.feed(res.text)
        problems += [f"{res.url}: {path} is outside {prefix}/" for path in page.paths
                     if not path.startswith(prefix + "/")]
        for next_method, target, next_fields in page.found:
            absolute = urljoin(res.url, target)
            if absolute.startswith(origin):
                queue.append((next_method, absolute, next_fields, res.url))
    assert not problems, "\n".join(problems)
    assert len(seen) >= 10  # the crawl got past the first pages


def test_outside_the_prefix_is_refused_as_aws_refuses_it(mounted):
    res = requests.get(f"{mounted.url}/booking/mine", timeout=30, allow_redirects=False)
    assert res.status_code == 403
    assert res.json()["message"] == ("Missing Authentication Token" if mounted.mount.kind == "stage" else "Forbidden")
