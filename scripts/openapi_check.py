"""The OpenAPI files in docs/api, held to the code: every Chalice route of a function is
documented with the same path and method and nothing else is; every JSON error answer uses
the one error shape; the files are valid OpenAPI 3.0 and carry the shared components of
docs/api/_shared.yaml word for word.

    python -m scripts.openapi_check           # report problems (exit 1 when any)
    python -m scripts.openapi_check --sync    # copy _shared.yaml's blocks into every file

Each file keeps the shared blocks between `# >>> shared <section>` and `# <<< shared
<section>` markers under `components`, so it stays self-contained for viewers and fuzzers.
"""
from __future__ import annotations

import copy
import importlib
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
API_DIR = ROOT / "docs" / "api"
SHARED = API_DIR / "_shared.yaml"
# function folder → the serverless.yml key of its Chalice app
FEATURES = {
    "webhook": "webhook",
    "branch_lookup": "branchLookupApi",
    "booking": "bookingApi",
    "loan_apply": "loanApplyApi",
    "notify": "notifyApi",
    "audit": "auditApi",
    "console": "consoleApi",
    "products": "productsApi",
}
SECTIONS = ("securitySchemes", "schemas", "responses")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ERROR_REF = "#/components/schemas/Error"
_BLOCK = "    # {mark} shared {section}\n"


def spec_path(feature: str) -> Path:
    return API_DIR / f"{feature}.yaml"


def load(feature: str) -> dict:
    return yaml.load(spec_path(feature).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def shared() -> dict[str, dict]:
    return yaml.load(SHARED.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)["components"]


def is_api(path: str) -> bool:
    """The same split as functions/common/http.py: JSON routes vs H5 pages."""
    from functions.common import http

    return http.is_api(path)


# ----- routes ------------------------------------------------------------------------------

def chalice_routes(feature: str) -> set[tuple[str, str]]:
    app = importlib.import_module(f"functions.{feature}.app").app
    return {(method.upper(), path) for path, methods in app.routes.items() for method in methods}


def documented_routes(spec: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in spec.get("paths", {}).items()
            for method in item if method in METHODS}


def operations(spec: dict):
    """(method, path, operation, parameters of the path and the operation) for each route."""
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method in METHODS:
                params = [resolve(spec, p) for p in item.get("parameters", []) + op.get("parameters", [])]
                yield method.upper(), path, op, params


def _lookup(spec: dict, ref: str) -> Any:
    target: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def resolve(spec: dict, node: Any) -> Any:
    """`node` with every local `$ref` replaced by what it points to (recursively)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return resolve(spec, _lookup(spec, node["$ref"]))
        return {k: resolve(spec, v) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(spec, v) for v in node]
    return node


# ----- checks ------------------------------------------------------------------------------

def route_problems(feature: str, spec: dict) -> list[str]:
    code, docs = chalice_routes(feature), documented_routes(spec)
    app = f"functions/{feature}/app.py"
    out = [f"{m} {p}: a route of {app} that the OpenAPI file lacks" for m, p in sorted(code - docs)]
    out += [f"{m} {p}: documented but {app} has no such route" for m, p in sorted(docs - code)]
    return out


def parameter_problems(spec: dict) -> list[str]:
    out = []
    for method, path, _, params in operations(spec):
        in_path = set(re.findall(r"{([^}]+)}", path))
        declared = {p["name"] for p in params if p.get("in") == "path"}
        if in_path != declared:
            out.append(f"{method} {path}: path parameters {sorted(in_path)} but declared {sorted(declared)}")
    return out


def error_problems(spec: dict) -> list[str]:
    """Every documented JSON error answer is the Error schema; a JSON route documents its
    errors as JSON (the guard in functions/common/http.py answers them so)."""
    out = []
    for method, path, op, _ in operations(spec):
        for status, response in op.get("responses", {}).items():
            if not str(status).startswith(("4", "5")):
                continue
            content = (_lookup(spec, response["$ref"]) if "$ref" in response else response).get("content") or {}
            for media, body in content.items():
                if "json" in media and (body.get("schema") or {}).get("$ref") != ERROR_REF:
                    out.append(f"{method} {path} {status}: a JSON error that is not {ERROR_REF}")
            if is_api(path) and "application/json" not in content:
                out.append(f"{method} {path} {status}: a JSON route whose error is not JSON")
    return out


def security_problems(spec: dict) -> list[str]:
    """Staff routes need the staff token alone; a state-changing route that needs the session
    also names the CSRF token. (Which routes need a session is checked by calling them.)"""
    out = []
    for method, path, op, _ in operations(spec):
        schemes = [set(alternative) for alternative in op.get("security", spec.get("security", []))]
        if "/staff/" in path and schemes != [{"staffToken"}]:
            out.append(f"{method} {path}: a staff route must require staffToken alone")
        if method != "GET" and any("wxsession" in s for s in schemes) and {"wxsession", "csrfToken"} not in schemes:
            out.append(f"{method} {path}: a state-changing customer route must list csrfToken")
    return out


def shared_problems(spec: dict) -> list[str]:
    out = []
    components = spec.get("components", {})
    for section, items in shared().items():
        for name, value in items.items():
            if components.get(section, {}).get(name) != value:
                out.append(f"components/{section}/{name} differs from docs/api/_shared.yaml (run --sync)")
    return out


def validity_problems(spec: dict) -> list[str]:
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    if not str(spec.get("openapi", "")).startswith("3.0."):
        return ["not an OpenAPI 3.0 document"]
    try:
        validate(copy.deepcopy(spec))
    except OpenAPIValidationError as error:
        return [f"invalid OpenAPI 3.0: {error.message}"]
    return []


def problems(feature: str, spec: dict | None = None) -> list[str]:
    spec = load(feature) if spec is None else spec
    return (validity_problems(spec) + route_problems(feature, spec) + parameter_problems(spec)
            + error_problems(spec) + security_problems(spec) + shared_problems(spec))


# ----- responses, for tests that call the routes ---------------------------------------------

def response_schema(spec: dict, method: str, path: str, status: int, media: str = "application/json") -> dict:
    """The documented schema (refs resolved) of one answer; KeyError when it is not documented."""
    op = spec["paths"][path][method.lower()]
    responses = op["responses"]
    response = responses.get(str(status)) or responses[f"{str(status)[0]}XX"]
    content = resolve(spec, response)["content"]
    return content[media.split(";")[0].strip()]["schema"]


def validate_response(spec: dict, method: str, path: str, status: int, body: Any,
                      media: str = "application/json") -> None:
    """Raise jsonschema.ValidationError when `body` is not what the file documents."""
    from openapi_schema_validator import OAS30Validator

    OAS30Validator(response_schema(spec, method, path, status, media)).validate(body)


# ----- the shared blocks -------------------------------------------------------------------

def shared_block(section: str) -> str:
    """The lines of `section` in _shared.yaml, as they sit under `components`."""
    lines = SHARED.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index(f"  {section}:\n") + 1
    block = []
    for line in lines[start:]:
        if line.strip() and not line.startswith("    "):
            break
        block.append(line)
    while block and not block[-1].strip():
        block.pop()
    return "".join(block)


def synced(text: str) -> str:
    """`text` with every marked shared block replaced by _shared.yaml's."""
    for section in SECTIONS:
        begin, end = _BLOCK.format(mark=">>>", section=section), _BLOCK.format(mark="<<<", section=section)
        if begin not in text or end not in text:
            raise ValueError(f"no `{begin.strip()}` ... `{end.strip()}` block")
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + begin + shared_block(section) + end + tail
    return text


def main(argv: list[str]) -> int:
    if "--sync" in argv:
        for feature in FEATURES:
            path = spec_path(feature)
            if path.exists():
                path.write_text(synced(path.read_text(encoding="utf-8")), encoding="utf-8")
    found = 0
    for feature in FEATURES:
        if not spec_path(feature).exists():
            print(f"{feature}: docs/api/{feature}.yaml is missing")
            found += 1
            continue
        for problem in problems(feature):
            print(f"{feature}: {problem}")
            found += 1
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
