"""The words that are commands, not answers: Twilio's opt-out, opt-in and help keywords.

Matched on the whole message, in any case, with punctuation around it ignored ("Stop." stops):
a participant who wants to be left alone must never be misread as answering a question.
"""

from __future__ import annotations

import enum

from eas.responses.replies import normalise

OPT_OUT = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "opt out"}
)
#: YES re-subscribes only someone who opted out; from anyone else it is an answer.
OPT_IN = frozenset({"start", "unstop"})
OPT_IN_WHEN_OPTED_OUT = OPT_IN | {"yes"}
HELP = frozenset({"help", "info"})


class Command(enum.Enum):
    opt_out = "opt_out"
    opt_in = "opt_in"
    help = "help"


#: Twilio's Advanced Opt-Out names the keyword type it matched (including custom keywords).
_OPT_OUT_TYPES = {"STOP": Command.opt_out, "START": Command.opt_in, "HELP": Command.help}


def command_of(body: str, *, opted_out: bool, opt_out_type: str | None = None) -> Command | None:
    if opt_out_type and opt_out_type.upper() in _OPT_OUT_TYPES:
        return _OPT_OUT_TYPES[opt_out_type.upper()]
    word = normalise(body)
    if word in OPT_OUT:
        return Command.opt_out
    if word in (OPT_IN_WHEN_OPTED_OUT if opted_out else OPT_IN):
        return Command.opt_in
    if word in HELP:
        return Command.help
    return None


def mentions_opt_out(body: str) -> bool:
    """Whether a text that is not the STOP command still asks to stop ("stop please", "I want
    to quit"): it is answered with how to stop, never taken for a wrong answer."""
    words = normalise(body).split()
    return any(word in OPT_OUT for word in words) or "opt out" in " ".join(words)
