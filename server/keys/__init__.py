"""Keys: bearer keys stored hashed, each with an optional base config, in the key database."""

from server.keys.record import InvalidKeyConfig, KeyRecord, hash_secret, new_secret
from server.keys.store import AmbiguousKey, KeyStore

__all__ = ["KeyStore", "KeyRecord", "AmbiguousKey", "InvalidKeyConfig", "hash_secret", "new_secret"]
