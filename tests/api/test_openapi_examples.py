"""The OpenAPI document: an example for every request body and response, every path parameter described."""

from __future__ import annotations

from typing import Any

from tests.api.api_client import Api, api  # noqa: F401 - the fixture


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]]:
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                found.append((method, path, operation, item.get("parameters", []) + operation.get("parameters", [])))
    return found


def test_every_request_body_and_response_has_an_example(api: Api) -> None:
    spec = api.get("/openapi.json", role=None).get_json()
    missing = []
    for method, path, operation, _ in operations(spec):
        for media, content in operation.get("requestBody", {}).get("content", {}).items():
            if "example" not in content:
                missing.append(f"{method.upper()} {path} request {media}")
        for status, response in operation["responses"].items():
            response = (
                spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]] if "$ref" in response else response
            )
            for media, content in response.get("content", {}).items():
                if "example" not in content:
                    missing.append(f"{method.upper()} {path} {status} {media}")
    assert not missing, "run `python -m web.openapi_examples` after adding an operation:\n" + "\n".join(missing)
    published = spec["paths"]["/v1/inspections/{inspection_id}/publish"]["post"]
    assert published["requestBody"]["content"]["application/json"]["example"] == {"published_on": "2012-01-10"}
    example = published["responses"]["200"]["content"]["application/json"]["example"]
    assert example["status"] == "published" and example["headline_scores"]


def test_every_path_parameter_is_described_and_the_year_is_written_2011_12(api: Api) -> None:
    spec = api.get("/openapi.json", role=None).get_json()
    for method, path, _, parameters in operations(spec):
        for parameter in (p for p in parameters if p["in"] == "path"):
            assert parameter.get("description") and parameter.get("example"), (method, path, parameter)
    year = next(
        p for p in spec["paths"]["/v1/views/programmes/{programme}/years/{year}"]["parameters"] if p["name"] == "year"
    )
    assert year["example"] == "2011-12" and "2011-12" in year["description"]
    assert year["schema"]["pattern"] == "^[0-9]{4}-[0-9]{2}$"
