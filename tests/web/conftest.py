# The simulator's tests use the SMS tests' participant and dispatcher fixtures.
from tests.sms.conftest import dispatcher, participant, provider, send_next, study  # noqa: F401
