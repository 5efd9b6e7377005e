# The dashboard's tests receive texts through the signed webhook.
from tests.sms.conftest import phone, twilio_config  # noqa: F401
