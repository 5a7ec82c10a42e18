"""/api/v1/openapi.json against the app itself: every /api/v1 route of app.url_map is an
operation of the document and every operation is a route, each with the path parameters
of its URL rule; and the document's fixed parts (OpenAPI 3.1, the server /api/v1, the
problem answers, the bearer scheme, the HH:MM rule)."""

from __future__ import annotations

import re

from core.clock import HHMM_PATTERN

DOCUMENT = "/api/v1/openapi.json"
PREFIX = "/api/v1"
RULE_ARGUMENT = re.compile(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-z_]+)>")
TEMPLATE_ARGUMENT = re.compile(r"\{([a-z_]+)\}")


def _shape(path: str, pattern: re.Pattern) -> str:
    """A path with its parameters anonymous: /offices/{}/windows/{}/call-next."""
    return pattern.sub("{}", path)


def _routes(app) -> dict[tuple[str, str], object]:
    routes = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/") or rule.rule == DOCUMENT:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes[(method, _shape(rule.rule[len(PREFIX):], RULE_ARGUMENT))] = rule
    return routes


def _operations(document) -> dict[tuple[str, str], tuple[str, dict]]:
    return {(method.upper(), _shape(path, TEMPLATE_ARGUMENT)): (path, operation)
            for path, item in document["paths"].items()
            for method, operation in item.items()}


def test_every_api_route_is_an_operation_and_every_operation_a_route(app, client):
    document = client.get(DOCUMENT).get_json()
    routes, operations = _routes(app), _operations(document)
    assert sorted(set(routes) - set(operations)) == [], "served but not in openapi.json"
    assert sorted(set(operations) - set(routes)) == [], "in openapi.json but not served"
    assert len(operations) == sum(len(item) for item in document["paths"].values())


def test_every_operation_declares_its_path_parameters(app, client):
    document = client.get(DOCUMENT).get_json()
    routes = _routes(app)
    for key, (path, operation) in _operations(document).items():
        declared = [p for p in operation.get("parameters", []) if p["in"] == "path"]
        assert [p["name"] for p in declared] == TEMPLATE_ARGUMENT.findall(path), (key, path)
        assert all(p["required"] for p in declared), key
        converters = [converter or "default"
                      for converter, _name in RULE_ARGUMENT.findall(routes[key].rule)]
        for parameter, converter in zip(declared, converters, strict=True):
            expected = "integer" if converter == "int" else "string"
            assert parameter["schema"]["type"] == expected, (key, parameter)


def test_every_operation_is_described(client):
    document = client.get(DOCUMENT).get_json()
    ids = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation["summary"] and not operation["summary"].endswith(">"), where
            assert operation["tags"], where
            ids.append(operation["operationId"])
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), where
            assert "422" in responses, where  # NUL characters, at least (core.requests)
            for code, response in responses.items():
                if int(code) >= 400:
                    assert response["content"] == {"application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"}}}, (where, code)
            if operation.get("security"):
                # staff only, or open to all with more for staff (POST /appointments)
                assert operation["security"] in ([{"bearer": []}],
                                                  [{}, {"bearer": []}]), where
                assert {"401", "403"} <= set(responses), where
            for content in operation.get("requestBody", {}).get("content", {}).values():
                assert "$ref" not in content["schema"], where  # the body's schema in place
    assert len(ids) == len(set(ids)), "operationIds are unique"


def test_the_fixed_parts(app, client):
    document = client.get(DOCUMENT).get_json()
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": PREFIX}]
    assert all(not path.startswith(PREFIX) for path in document["paths"])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "code", "detail"}
    referenced = set(re.findall(r'"#/components/schemas/([A-Za-z0-9_]+)"',
                                client.get(DOCUMENT).get_data(as_text=True)))
    assert referenced <= set(document["components"]["schemas"])
    # no documentation pages: the halls' intranets have no CDN to load them from
    assert not [rule.rule for rule in app.url_map.iter_rules()
                if re.search(r"apidoc|swagger|redoc|scalar|rapidoc", rule.rule)]


def test_times_of_day_are_00_00_to_23_59(client):
    text = client.get(DOCUMENT).get_data(as_text=True)
    patterns = set(re.findall(r'"pattern":\s*"((?:[^"\\]|\\.)*:(?:[^"\\]|\\.)*)"', text))
    assert patterns == {HHMM_PATTERN.replace("\\", "\\\\")}
    for good in ("00:00", "09:30", "23:59"):
        assert re.fullmatch(HHMM_PATTERN, good)
    for bad in ("29:00", "24:00", "9:30", "12:60", "１２:００"):
        assert not re.fullmatch(HHMM_PATTERN, bad)


def test_the_document_is_served_as_json_and_stays_the_same(client):
    first = client.get(DOCUMENT)
    assert first.status_code == 200 and first.mimetype == "application/json"
    assert client.get(DOCUMENT).get_json() == first.get_json()
