"""POST /api/v1/auth/token (docs/api.md §3) and token revocation."""

from flask import Blueprint, request

from core.auth import api_roles, issue_token, revoke_token
from core.database import write_transaction
from core.errors import ApiError, problem
from core.extensions import limiter
from core.openapi import BEARER, answers, spec
from core.requests import body_of
from staff.schemas import Revoked, Token, TokenRequest
from staff.services import sign_in

blueprint = Blueprint("staff_api", __name__, url_prefix="/api/v1")


def _login_limit() -> str:
    from flask import current_app

    return current_app.config["RATELIMIT_LOGIN"]


@blueprint.post("/auth/token")
@limiter.limit(_login_limit)
@spec.validate(json=TokenRequest, resp=answers(
    HTTP_200=Token, HTTP_401="invalid_credentials (also a locked or switched-off account)",
    HTTP_429="rate_limited (also too many failed logins from this client: see Retry-After)"),
    tags=["staff"])
def create_token():
    """Get a staff API token."""
    body = body_of(TokenRequest)
    attempt = sign_in(body.username, body.password, request.remote_addr, "api")
    if attempt.result == "throttled":
        response = problem(429, "rate_limited", "Too many failed logins from this client; "
                           f"try again in {attempt.wait_seconds} seconds.")
        response.headers["Retry-After"] = str(attempt.wait_seconds)
        return response
    if attempt.result == "locked":
        raise ApiError(401, "invalid_credentials",
                       "This account is locked; an administrator can unlock it.")
    if attempt.result == "inactive":
        raise ApiError(401, "invalid_credentials", "This account is switched off.")
    if attempt.result != "ok":
        if not attempt.wait_seconds:
            raise ApiError(401, "invalid_credentials", "Wrong user name or password.")
        # the next try from this client waits: say how long
        response = problem(401, "invalid_credentials", "Wrong user name or password; try "
                           f"again in {attempt.wait_seconds} seconds.")
        response.headers["Retry-After"] = str(attempt.wait_seconds)
        return response
    with write_transaction():
        token, row = issue_token(attempt.user)
    return {"token": token, "role": attempt.user.role,
            "expires_at": row.expires_at.isoformat()}


@blueprint.post("/auth/revoke")
@api_roles("desk", "registrar")
@spec.validate(resp=answers(HTTP_200=Revoked), tags=["staff"], security=BEARER)
def revoke():
    """Revoke the token used for this request."""
    token = request.headers["Authorization"].partition(" ")[2].strip()
    with write_transaction():
        revoke_token(token)
    return {"revoked": True}

