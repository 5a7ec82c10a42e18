"""POST /auth/token and POST /auth/revoke (docs/development.md "API schemas")."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from core.schemas import Answer, Body, Says

_BOTH = Says("username and password are required strings")


class TokenRequest(Body):
    username: Annotated[str, _BOTH]
    password: Annotated[str, _BOTH]


class Token(Answer):
    token: str = Field(description="send it as Authorization: Bearer <token>")
    role: Literal["admin", "desk", "registrar"]
    expires_at: datetime


class Revoked(Answer):
    revoked: Literal[True]
