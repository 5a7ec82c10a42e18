"""POST /api/v1/auth/token (docs/api.md §3) and token revocation."""

from flask import Blueprint, request

from core.auth import api_roles, issue_token, revoke_token
from core.database import write_transaction
from core.errors import ApiError
from core.extensions import limiter
from core.openapi import BEARER, answers, spec
from core.requests import body_of
from staff.schemas import Revoked, Token, TokenRequest
from staff.services import authenticate

blueprint = Blueprint("staff_api", __name__, url_prefix="/api/v1")


def _login_limit() -> str:
    from flask import current_app

    return current_app.config["RATELIMIT_LOGIN"]


@blueprint.post("/auth/token")
@limiter.limit(_login_limit)
@spec.validate(json=TokenRequest, resp=answers(HTTP_200=Token, HTTP_401="invalid_credentials",
                                              HTTP_429="rate_limited"), tags=["staff"])
def create_token():
    """Get a staff API token."""
    body = body_of(TokenRequest)
    user = authenticate(body.username, body.password)
    if user is None:
        raise ApiError(401, "invalid_credentials", "Wrong user name or password.")
    with write_transaction():
        token, row = issue_token(user)
    return {"token": token, "role": user.role, "expires_at": row.expires_at.isoformat()}


@blueprint.post("/auth/revoke")
@api_roles("desk", "registrar")
@spec.validate(resp=answers(HTTP_200=Revoked), tags=["staff"], security=BEARER)
def revoke():
    """Revoke the token used for this request."""
    token = request.headers["Authorization"].partition(" ")[2].strip()
    with write_transaction():
        revoke_token(token)
    return {"revoked": True}

