from tests.sms.conftest import phone, twilio_config  # noqa: F401
from tests.surveys.conftest import diary  # noqa: F401
