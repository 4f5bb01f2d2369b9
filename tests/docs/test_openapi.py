"""docs/api: one OpenAPI 3.0 file per function with HTTP routes, held to the code (routes in
both directions, path parameters, the one error shape, security, the shared components)."""
from __future__ import annotations

import copy

import pytest

from scripts import openapi_check as oc

FEATURES = list(oc.FEATURES)


class _Specs(dict):
    """Each file parsed once, when a test first asks for it."""

    def __missing__(self, feature: str) -> dict:
        self[feature] = oc.load(feature)
        return self[feature]


@pytest.fixture(scope="module")
def specs() -> dict[str, dict]:
    return _Specs()


@pytest.mark.parametrize("feature", FEATURES)
def test_file_is_valid_openapi_3_0(feature, specs):
    assert specs[feature]["openapi"].startswith("3.0.")
    assert oc.validity_problems(specs[feature]) == []


@pytest.mark.parametrize("feature", FEATURES)
def test_every_route_is_documented_and_nothing_else(feature, specs):
    assert oc.route_problems(feature, specs[feature]) == []
    assert oc.documented_routes(specs[feature]) == oc.chalice_routes(feature)


@pytest.mark.parametrize("feature", FEATURES)
def test_path_parameters_are_declared(feature, specs):
    assert oc.parameter_problems(specs[feature]) == []


@pytest.mark.parametrize("feature", FEATURES)
def test_json_errors_use_the_common_error_schema(feature, specs):
    assert oc.error_problems(specs[feature]) == []


@pytest.mark.parametrize("feature", FEATURES)
def test_staff_and_csrf_security(feature, specs):
    assert oc.security_problems(specs[feature]) == []


@pytest.mark.parametrize("feature", FEATURES)
def test_shared_components_are_the_same_everywhere(feature, specs):
    assert oc.shared_problems(specs[feature]) == []
    text = oc.spec_path(feature).read_text(encoding="utf-8")
    assert oc.synced(text) == text, "run `python -m scripts.openapi_check --sync`"


@pytest.mark.parametrize("feature", FEATURES)
def test_every_operation_has_an_id_and_a_success_answer(feature, specs):
    ids = []
    for method, path, op, _ in oc.operations(specs[feature]):
        ids.append(op.get("operationId"))
        assert any(str(s).startswith(("2", "3")) for s in op["responses"]), f"{method} {path}"
    assert None not in ids and len(ids) == len(set(ids))


def test_the_error_shape_is_the_one_functions_common_answers():
    """_shared.yaml's Error schema accepts what ApiError.body() produces and nothing looser."""
    from openapi_schema_validator import OAS30Validator

    from functions.common.errors import FieldError, NotFound, ValidationFailed

    spec = {"components": oc.shared()}
    schema = oc.resolve(spec, spec["components"]["schemas"]["Error"])
    validator = OAS30Validator(schema)
    validator.validate(NotFound().body())
    validator.validate(ValidationFailed([FieldError("mobile", "invalid_mobile", "请填写正确的11位手机号码")]).body())
    assert not validator.is_valid({"code": "x"})
    assert not validator.is_valid({"code": "x", "message": "m", "fields": []})
    assert not validator.is_valid({"Code": "UnsupportedMediaType", "Message": "Unsupported media type"})


# ----- the checks themselves catch what they are for ----------------------------------------

@pytest.fixture
def booking(specs) -> dict:
    return copy.deepcopy(specs["booking"])


def test_a_missing_route_is_caught(booking):
    del booking["paths"]["/booking/mine"]
    assert oc.route_problems("booking", booking) == [
        "GET /booking/mine: a route of functions/booking/app.py that the OpenAPI file lacks"]


def test_an_extra_route_is_caught(booking):
    booking["paths"]["/booking/mine"]["delete"] = booking["paths"]["/booking/mine"]["get"]
    assert oc.route_problems("booking", booking) == [
        "DELETE /booking/mine: documented but functions/booking/app.py has no such route"]


def test_a_wrong_method_is_caught_both_ways(booking):
    item = booking["paths"]["/booking/api/bookings/{booking_id}/cancel"]
    item["put"] = item.pop("post")
    assert len(oc.route_problems("booking", booking)) == 2


def test_an_undeclared_path_parameter_is_caught(booking):
    item = booking["paths"]["/booking/api/bookings/{booking_id}"]
    item.pop("parameters")
    assert oc.parameter_problems(booking) == [
        "GET /booking/api/bookings/{booking_id}: path parameters ['booking_id'] but declared []"]


def test_an_error_in_another_shape_is_caught(booking):
    op = booking["paths"]["/booking/api/slots"]["get"]
    op["responses"]["400"]["content"]["application/json"]["schema"] = {"type": "object"}
    op["responses"]["409"] = {"description": "html", "content": {"text/html": {"schema": {"type": "string"}}}}
    assert oc.error_problems(booking) == [
        "GET /booking/api/slots 400: a JSON error that is not #/components/schemas/Error",
        "GET /booking/api/slots 409: a JSON route whose error is not JSON",
    ]


def test_missing_security_is_caught(booking):
    booking["paths"]["/booking/staff/branches/{branch_id}/bookings"]["get"]["security"] = []
    booking["paths"]["/booking/api/bookings"]["post"]["security"] = [{"wxsession": []}]
    assert len(oc.security_problems(booking)) == 2


def test_a_drifted_shared_component_is_caught(booking):
    booking["components"]["schemas"]["Error"]["required"] = ["code"]
    assert oc.shared_problems(booking) == [
        "components/schemas/Error differs from docs/api/_shared.yaml (run --sync)"]


def test_an_invalid_document_is_caught(booking):
    del booking["paths"]["/booking/mine"]["get"]["responses"]["200"]["$ref"]
    assert oc.validity_problems(booking) != []


def test_sync_rewrites_a_drifted_block():
    text = oc.spec_path("booking").read_text(encoding="utf-8")
    drifted = text.replace("name: wxsession", "name: session", 1)
    assert drifted != text
    assert oc.synced(drifted) == text
