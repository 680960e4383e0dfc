"""Connection secrets are encrypted at rest with a Fernet key from the settings or the data dir."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken

from app.secrets_store import read_or_create
from app.settings import Settings


class SecretBox:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        if settings.secret_key is not None:
            return cls(settings.secret_key.get_secret_value())
        key = read_or_create(
            settings.store.data_dir / "secret_key", lambda: Fernet.generate_key().decode()
        )
        return cls(key)

    def seal(self, value: dict[str, str] | str) -> str:
        return self._fernet.encrypt(json.dumps(value).encode()).decode()

    def open(self, token: str) -> dict[str, str] | str:
        try:
            value = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ValueError(
                "a stored secret cannot be decrypted: was ARBITER_SECRET_KEY changed?"
            ) from exc
        assert isinstance(value, dict | str)
        return value
