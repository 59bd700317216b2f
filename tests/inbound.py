"""What people may send, as hypothesis strategies, for fuzzing the engine and channels."""

from __future__ import annotations

from hypothesis import strategies as st

# What people send: ordinary replies and commands, emoji (with skin tones, joiners and
# flags), right-to-left scripts, control and format characters, anything at all, and
# 10 KB bodies (digits among them: a number that long is too long to read as one).
REPLIES = st.sampled_from(["1", "2", "3", "0", "yes", "No", "not sure", "y", "help", "HELP",
                           "stop", "STOP", "START", "back", "again", "skip", "#", "*", "",
                           " ", "?", "😀", "👍", "one", "three", "Happy!"])
EMOJI = st.lists(st.sampled_from(["😀", "😐", "🙁", "👍🏽", "👎", "🤷‍♀️", "❤️", "🏳️‍🌈", "🇬🇧",
                                  "🔁", "⏭️", "🛑", "🆘", "\u200d", "\ufe0f"]),
                 min_size=1, max_size=8).map("".join)
RTL = st.text(st.characters(min_codepoint=0x0590, max_codepoint=0x06FF), min_size=1,
              max_size=60)
CONTROL = st.one_of(st.sampled_from(["\x00", "\x1b[31m", "\r\n", "\u202e", "\x7f"]),
                    st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp"]), min_size=1,
                            max_size=30))
LONG = st.builds(lambda unit: (unit * 10_240)[:10_240],
                 st.one_of(st.just("7"), st.text(min_size=1, max_size=12)))
# Replies that move a conversation on (consent, then an answer to each question), so
# the fuzzed text can land on any question, the open ones at the end included.
ONWARD = st.lists(st.sampled_from(["1", "2", "0"]), max_size=12).map(lambda keys: ["yes", *keys])
PIECE = st.one_of(REPLIES, EMOJI, RTL, CONTROL, st.text(max_size=80))
# A reply the engine understands, wrapped in noise: what gets stored then holds it.
NOISE = st.one_of(CONTROL, PIECE)
WRAPPED = st.builds("{}{}{}".format, NOISE, REPLIES, NOISE)
INBOUND = st.one_of(WRAPPED, PIECE, LONG, st.lists(PIECE, min_size=2, max_size=4).map(" ".join))


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


NOT_UTF8 = st.binary(min_size=1, max_size=40).filter(lambda raw: not _utf8(raw))
