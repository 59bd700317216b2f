"""Contact details (and recordings, kept messages) at rest: Fernet encryption, and a
keyed hash to find a sender.

Both keys derive from ``DATA_KEY``, so one secret protects the data; an attacker with
the database alone can neither read numbers nor test a guessed number against it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class Vault:
    """Encrypts, decrypts and hashes contact details with keys derived from one secret."""

    def __init__(self, data_key: str) -> None:
        if not data_key:
            raise ValueError("DATA_KEY is empty: contact details cannot be protected")
        secret = data_key.encode()
        fernet_key = hashlib.sha256(b"fernet:" + secret).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(fernet_key))
        self._hash_key = hashlib.sha256(b"lookup:" + secret).digest()
        self._shift_key = hashlib.sha256(b"date-shift:" + secret).digest()

    def encrypt(self, value: str) -> bytes:
        """Ciphertext for ``value``."""
        return self._fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        """The value behind ``token``; ValueError when the key does not fit."""
        try:
            return self._fernet.decrypt(bytes(token)).decode()
        except InvalidToken:
            raise ValueError("this contact was encrypted with another DATA_KEY") from None

    def encrypt_bytes(self, value: bytes) -> bytes:
        """Ciphertext for ``value`` (a recording's audio)."""
        return self._fernet.encrypt(value)

    def decrypt_bytes(self, token: bytes) -> bytes:
        """The bytes behind ``token``; ValueError when the key does not fit."""
        try:
            return self._fernet.decrypt(bytes(token))
        except InvalidToken:
            raise ValueError("this was encrypted with another DATA_KEY") from None

    def lookup(self, kind: str, value: str) -> str:
        """A keyed hash of ``value``, the same every time, to find a contact by value."""
        return hmac.new(self._hash_key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def date_shift_days(self, code: str) -> int:
        """Days (0 to 364) to move participant ``code``'s dates back in a shifted export.

        As REDCap does: the same number for one participant every time, so intervals
        hold across exports, and unguessable without DATA_KEY.
        """
        digest = hmac.new(self._shift_key, code.encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") % 365
