# The dashboard's tests receive texts through the signed webhook.
from tests.sms.conftest import phone, twilio_config  # noqa: F401

# The evening diary, sent as a web link (a free-text answer shown on the participant's page).
from tests.surveys.conftest import diary  # noqa: F401
