"""Hold a real answer of a route to what its OpenAPI file documents."""
from __future__ import annotations

import json
from typing import Any

from scripts import openapi_check as oc


def documented_response(spec: dict, method: str, path: str, status: int) -> dict:
    responses = spec["paths"][path][method.lower()]["responses"]
    found = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
    assert found is not None, f"{method} {path} answered {status}, which its OpenAPI file does not document"
    return oc.resolve(spec, found)


def conforms(spec: dict, method: str, path: str, response: Any) -> Any:
    """Assert that a Chalice test-client response is documented (status, media type, JSON
    body against the schema); return the parsed JSON body, or the text."""
    documented = documented_response(spec, method, path, response.status_code)
    content = documented.get("content") or {}
    # a view that returns a dict sets no Content-Type; API Gateway then sends application/json
    given = response.headers.get("Content-Type") or response.headers.get("content-type") or "application/json"
    media = given.split(";")[0]
    text = response.body.decode("utf-8") if isinstance(response.body, bytes) else response.body
    if not content:
        return text
    assert media in content, f"{method} {path} {response.status_code} answered {media}, documented {list(content)}"
    if "json" not in media:
        from openapi_schema_validator import OAS30Validator

        OAS30Validator(content[media]["schema"]).validate(text)
        return text
    body = json.loads(text)
    oc.validate_response(spec, method, path, response.status_code, body, media)
    return body


def fetched(spec: dict, client: Any, template: str, url: str) -> tuple[int, Any]:
    """GET `url` (a path of the documented route `template`) through a Chalice test client:
    (status, what `conforms` returns)."""
    response = client.http.get(url)
    return response.status_code, conforms(spec, "GET", template, response)
