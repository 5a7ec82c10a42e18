"""/api/v1/openapi.json: each feature adds the paths it serves with `add_paths`."""

from flask import Blueprint, Flask, current_app

blueprint = Blueprint("openapi", __name__, url_prefix="/api/v1")

PROBLEM = {
    "type": "object",
    "properties": {k: {"type": "string"} for k in ("type", "title", "code", "detail")}
    | {"status": {"type": "integer"}},
}


def add_paths(app: Flask, paths: dict) -> None:
    app.extensions.setdefault("xiyue_openapi", {}).update(paths)


@blueprint.get("/openapi.json")
def openapi_document():
    return {
        "openapi": "3.1.0",
        "info": {"title": "Xiyue 喜约 API", "version": "1.0.0",
                 "description": "Marriage-registration appointments and hall queue."},
        "servers": [{"url": "/api/v1"}],
        "paths": dict(sorted(current_app.extensions.get("xiyue_openapi", {}).items())),
        "components": {
            "schemas": {"Problem": PROBLEM},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
