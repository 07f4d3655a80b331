"""Certificate serials: 80 random bits written as 16 Crockford base32 characters (pure).

Crockford's alphabet leaves out I, L, O and U, so a serial read aloud or typed from paper is hard
to get wrong; `parse_serial` also forgives case, dashes, spaces and the look-alike letters.
"""

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 16  # 16 characters x 5 bits = 80 random bits
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


class InvalidSerial(ValueError):
    """Text that cannot be a certificate serial."""


def new_serial() -> str:
    number = int.from_bytes(secrets.token_bytes(LENGTH * 5 // 8), "big")
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(LENGTH)))


def display_serial(serial: str) -> str:
    """`7KQ2M9XD4HRTB3VW` as `7KQ2-M9XD-4HRT-B3VW`."""
    return "-".join(serial[i : i + 4] for i in range(0, len(serial), 4))


def parse_serial(text: str) -> str:
    """The canonical serial in `text`, or InvalidSerial."""
    candidate = text.strip().upper().replace("-", "").replace(" ", "").translate(_LOOK_ALIKES)
    if len(candidate) != LENGTH or any(ch not in ALPHABET for ch in candidate):
        raise InvalidSerial("A certificate serial has 16 letters and digits, such as 7KQ2-M9XD-4HRT-B3VW.")
    return candidate
