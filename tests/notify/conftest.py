"""SMS tests run the real twilio client against the local stand-in (twilio_double)."""

import pytest
from twilio.request_validator import RequestValidator

from tests.notify.twilio_double import TwilioDouble

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "test-twilio-auth-token"
SENDER = "+15005550006"
PUBLIC_BASE_URL = "https://xiyue.example.gov.cn"


@pytest.fixture
def twilio():
    double = TwilioDouble(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    yield double
    double.stop()


@pytest.fixture
def sms_config(twilio) -> dict:
    return {
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": SENDER,
        "TWILIO_API_BASE_URL": twilio.url,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "SMS_RATE_PER_SECOND": 1000,
    }


@pytest.fixture
def app_overrides(sms_config) -> dict:
    return sms_config


@pytest.fixture
def signed_post(client):
    """signed_post(path, form, valid=True): POST a form as Twilio would, signed with the
    auth token over PUBLIC_BASE_URL + path (the URL Twilio called through the proxy)."""

    def post(path: str, form: dict, valid: bool = True, token: str = AUTH_TOKEN):
        signature = RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, form)
        if not valid:
            signature = signature[:-4] + "AAA="
        return client.post(path, data=form, headers={"X-Twilio-Signature": signature})

    return post
