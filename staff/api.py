"""POST /api/v1/auth/token (CONTRACT §3) and token revocation."""

from flask import Blueprint, request

from core.auth import api_roles, issue_token, revoke_token
from core.database import write_transaction
from core.errors import ApiError, InvalidRequest
from core.extensions import limiter
from core.requests import json_body
from staff.services import authenticate

blueprint = Blueprint("staff_api", __name__, url_prefix="/api/v1")


def _login_limit() -> str:
    from flask import current_app

    return current_app.config["RATELIMIT_LOGIN"]


@blueprint.post("/auth/token")
@limiter.limit(_login_limit)
def create_token():
    body = json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidRequest("username and password are required strings")
    user = authenticate(username, password)
    if user is None:
        raise ApiError(401, "invalid_credentials", "Wrong user name or password.")
    with write_transaction():
        token, row = issue_token(user)
    return {"token": token, "role": user.role, "expires_at": row.expires_at.isoformat()}


@blueprint.post("/auth/revoke")
@api_roles("desk", "registrar")
def revoke():
    token = request.headers["Authorization"].partition(" ")[2].strip()
    with write_transaction():
        revoke_token(token)
    return {"revoked": True}


OPENAPI_PATHS = {
    "/auth/token": {"post": {
        "summary": "Get a staff API token", "tags": ["staff"],
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["username", "password"],
            "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}},
        "responses": {"200": {"description": "token, role, expires_at"},
                      "401": {"description": "invalid_credentials"}}}},
    "/auth/revoke": {"post": {
        "summary": "Revoke the token used for this request", "tags": ["staff"],
        "security": [{"bearer": []}],
        "responses": {"200": {"description": "revoked"}, "401": {"description": "unauthorized"}}}},
}
