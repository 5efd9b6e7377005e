"""The one rule for the order of replies to a participant (eas.safety.operations.safety_first):
a safety reply first, thanks left out after it, what the participant needs kept after it."""

from __future__ import annotations

from eas.safety.operations import Kind, Reply, safety_first

CRISIS = Reply("Call or text 988 now.", Kind.safety)
DISTRESS = Reply("Thank you for telling us. Call or text 988.", Kind.safety)
THANKS = Reply("Thanks, that's all for now.", Kind.courtesy)
QUESTION = Reply("7/10 How is your mood right now? Reply 0-10")
REASK = Reply("Sorry, I didn't get that. Reply 0-10", plainly="6/10 How lonely? Reply 0-10")
HELP = Reply("A study. Text STOP to stop, SKIP to skip a question.")


def _texts(replies: list[Reply]) -> list[str]:
    return [reply.text for reply in safety_first(replies)]


def test_without_a_safety_reply_everything_goes_as_it_is():
    assert _texts([THANKS]) == [THANKS.text]
    assert _texts([REASK, HELP]) == [REASK.text, HELP.text]
    assert _texts([]) == []


def test_a_safety_reply_comes_first_and_takes_the_place_of_thanks():
    assert _texts([THANKS, DISTRESS]) == [DISTRESS.text]
    assert _texts([Reply("You've answered this check-in, thank you!", Kind.courtesy), CRISIS]) == [
        CRISIS.text
    ]


def test_what_the_participant_needs_follows_the_safety_reply():
    assert _texts([QUESTION, CRISIS]) == [CRISIS.text, QUESTION.text]
    assert _texts([HELP, CRISIS]) == [CRISIS.text, HELP.text]


def test_after_a_safety_reply_a_re_ask_is_the_question_plainly():
    assert _texts([REASK, CRISIS]) == [CRISIS.text, "6/10 How lonely? Reply 0-10"]


def test_several_safety_replies_keep_their_order_and_each_text_comes_once():
    assert _texts([THANKS, DISTRESS, CRISIS, Reply(CRISIS.text, Kind.safety)]) == [
        DISTRESS.text,
        CRISIS.text,
    ]
