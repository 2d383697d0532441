"""Characters no stored text may hold: C0 controls other than TAB, LF and CR, lone
surrogates, and the noncharacters U+FFFE and U+FFFF.

PostgreSQL cannot keep NUL in text, no UTF-8 or GB18030 file can carry a lone
surrogate, and XML 1.0 carries neither nor the other C0 controls: a value holding
one would fail its write, or a partner's batch, long after it was accepted. They
carry no meaning in a name, a case number or an ID, so they are refused at the door.
"""

from __future__ import annotations

import re
from typing import Final

#: The refused controls as code point ranges: the one statement of the rule, which the
#: check below and the API document's ``pattern`` are both built from.
CONTROL_RANGES: Final = ((0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F))
#: The two noncharacters XML 1.0 leaves out of its Char: an XML partner would get the
#: text without them while every other format carries them.
NONCHARACTERS: Final = ((0xFFFE, 0xFFFF),)
REFUSED_RANGES: Final = CONTROL_RANGES + NONCHARACTERS
_UNSTORABLE: Final = re.compile(
    "[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in REFUSED_RANGES) + "\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored, naming the first bad character; ``None`` if it can."""
    if text.isprintable():  # one C pass settles nearly every value
        return None
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    code, at = ord(found.group()), found.start() + 1
    if 0xD800 <= code <= 0xDFFF:
        return f"holds a lone surrogate (U+{code:04X}, at character {at}), which is no character"
    if code >= 0xFFFE:
        return (f"holds the noncharacter U+{code:04X} at character {at}, which no XML file "
                "can carry")
    return (f"holds the control character U+{code:04X} at character {at}; text may hold "
            "tabs and line breaks but no other control characters")
