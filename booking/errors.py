"""Booking errors: an ApiError (problem+json on the API) that also says which applicant and
which field it is about, so that a page can show the message next to the field."""

from flask import has_request_context

from core.errors import ApiError


def tr(message_id: str, **values) -> str:
    """Translate a Chinese message id for the current request (plain Chinese elsewhere)."""
    if has_request_context():
        from flask_babel import gettext

        return gettext(message_id, **values)
    return message_id % values if values else message_id


class BookingError(ApiError):
    def __init__(self, status: int, code: str, detail: str, index: int | None = None,
                 field: str = "") -> None:
        super().__init__(status, code, detail)
        self.index = index  # which applicant (0-based), None for the whole request
        self.field = field  # name, id_type, id_number, phone, sex, birth_date, date, start …


def invalid(detail: str, index: int | None = None, field: str = "") -> BookingError:
    return BookingError(422, "invalid_request", detail, index, field)
