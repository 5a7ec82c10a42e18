"""The secrets of links kept out of the logs: the manage link /a/<token>, the ticket page
/t/<token>, the rating link /rate/t/<token>, the suggestion status /suggestions/t/<token>
and their API twins /api/v1/appointments/<token> and /api/v1/tickets/<token>; and the SMS
providers' receipt webhooks /sms/receipts/<provider>/<secret>. Whoever reads an access log
must not be able to open, cancel or reschedule an appointment with it, or forge a receipt.

`mask_secrets(text)` replaces each such secret with "…" wherever a path appears in the text
(a request line, a path, a Referer URL); `MaskingLogger` is gunicorn's logger with every
access-log atom and every error-log argument masked (config/gunicorn.conf.py; docs/deploy.md
§2). tests/robustness/test_access_log.py checks that every route of the app with a `token`
segment (core.converters.TokenConverter) is covered by TOKEN_PREFIXES."""

from __future__ import annotations

import re

MASK = "…"

# The path before each secret segment (each route with a <token:…> segment).
TOKEN_PREFIXES = ("a", "t", "rate/t", "suggestions/t", "api/v1/appointments",
                  "api/v1/tickets", "sms/receipts/aliyun", "sms/receipts/tencent")

# A path begins the text, follows white space or a quote (a request line, a log message),
# or follows the host of a URL (a Referer). The secret is the next segment, unless it is a
# number (/api/v1/tickets/<int:id>/complete: an id, no secret).
_SECRET_IN_PATH = re.compile(
    r"((?:^|(?<=[\s\"'(=])|(?<=://)[^/\s\"'?#]*)/(?:"
    + "|".join(re.escape(prefix) for prefix in TOKEN_PREFIXES)
    + r")/)(?![0-9]+(?:[/?#\s\"']|$))([^/?#\s\"']+)")
_SECRET_IN_QUERY = re.compile(r"((?<![\w-])(?:token|secret)=)([^&#\s\"']+)", re.IGNORECASE)


def mask_secrets(text: str) -> str:
    if "/" not in text and "=" not in text:
        return text
    text = _SECRET_IN_PATH.sub(lambda match: match.group(1) + MASK, text)
    return _SECRET_IN_QUERY.sub(lambda match: match.group(1) + MASK, text)


def _masked(value):
    return mask_secrets(value) if isinstance(value, str) else value


try:
    from gunicorn.glogging import Logger, SafeAtoms
except ImportError:  # pragma: no cover - gunicorn is a dependency; the CLI runs without it
    Logger = SafeAtoms = object  # type: ignore[assignment,misc]


class MaskedAtoms(SafeAtoms):  # type: ignore[misc,valid-type]
    """gunicorn's access-log atoms, each masked as the format takes it: a request's atoms
    hold every header and environ variable, and the format uses a handful of them."""

    def __getitem__(self, key):
        return _masked(super().__getitem__(key))


class MaskingLogger(Logger):  # type: ignore[misc,valid-type]
    """gunicorn's logger: the access log's atoms (%(r)s, %(U)s, %(q)s, %(f)s, every
    %({header}i) and %({variable}e)) and the error log's arguments, secrets masked."""

    atoms_wrapper_class = MaskedAtoms

    def _log_masked(self, method, msg, *args, **kwargs):
        return method(_masked(msg), *(_masked(arg) for arg in args), **kwargs)

    def critical(self, msg, *args, **kwargs):
        return self._log_masked(super().critical, msg, *args, **kwargs)

    def error(self, msg, *args, **kwargs):
        return self._log_masked(super().error, msg, *args, **kwargs)

    def warning(self, msg, *args, **kwargs):
        return self._log_masked(super().warning, msg, *args, **kwargs)

    def info(self, msg, *args, **kwargs):
        return self._log_masked(super().info, msg, *args, **kwargs)

    def debug(self, msg, *args, **kwargs):
        return self._log_masked(super().debug, msg, *args, **kwargs)

    def exception(self, msg, *args, **kwargs):
        return self._log_masked(super().exception, msg, *args, **kwargs)
