"""The staff home page's links: each feature adds its own screens with `add_staff_link`."""

from dataclasses import dataclass

from flask import Flask


@dataclass(frozen=True)
class StaffLink:
    endpoint: str
    label: str  # a message id (Chinese); translated when shown
    roles: tuple[str, ...]  # who sees it; admin sees everything
    per_office: bool = False  # the endpoint takes an `office` argument
    description: str = ""


def add_staff_link(app: Flask, link: StaffLink) -> None:
    app.extensions.setdefault("xiyue_staff_links", []).append(link)


def staff_links(app: Flask, role: str) -> list[StaffLink]:
    links = app.extensions.get("xiyue_staff_links", [])
    return [link for link in links if role == "admin" or role in link.roles]


def add_public_office_link(app: Flask, endpoint: str, label: str) -> None:
    """A button on each office's card on the home page; `endpoint` takes `office`."""
    app.extensions.setdefault("xiyue_public_links", []).append((endpoint, label))


def public_office_links(app: Flask) -> list[tuple[str, str]]:
    return app.extensions.get("xiyue_public_links", [])
