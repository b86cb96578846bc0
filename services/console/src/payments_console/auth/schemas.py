"""The login form as the console accepts it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from payments_console.auth.domain import MAX_NAME, MAX_PASSWORD


class LoginForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    name: str = Field(min_length=1, max_length=MAX_NAME)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    next: str = "/"
