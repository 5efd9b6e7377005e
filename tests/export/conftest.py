# Exports are made from answers given through the real SMS and web paths.
from tests.sms.conftest import phone, twilio_config  # noqa: F401
from tests.surveys.conftest import diary  # noqa: F401
