"""Encrypted backup files: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived with scrypt.

Layout of an encrypted file:

    MAGIC (32 bytes) | salt (16) | log2(n), r, p (1 byte each) | Fernet token (the rest)

The magic marks the file as encrypted, so `homecare restore` knows to ask for the passphrase;
an unencrypted backup is a plain SQLite file or a pg_dump custom-format archive. The Fernet
token authenticates the whole content: a wrong passphrase or a changed byte fails the check
before anything is written. The file is encrypted whole in memory (fine for a clinic's
database of some hundred MB; not meant for many GB).
"""

from __future__ import annotations

import os

from homecare.errors import BackupError

MAGIC = b"HOMECARE-BACKUP-ENCRYPTED-V1\x00\x00\x00\n"
PASSPHRASE_ENV = "HOMECARE_BACKUP_PASSPHRASE"
SALT_BYTES = 16
# scrypt n = 2**15, r = 8, p = 1: about 32 MiB and a tenth of a second per derivation.
LOG2_N, R, P = 15, 8, 1
MIN_PASSPHRASE = 12

assert len(MAGIC) == 32


def is_encrypted(head: bytes) -> bool:
    return head.startswith(MAGIC)


def passphrase_from_env(environ: dict[str, str] | None = None) -> str:
    """The passphrase from HOMECARE_BACKUP_PASSPHRASE (never from the command line: it would
    show in `ps` and the shell history)."""
    value = (os.environ if environ is None else environ).get(PASSPHRASE_ENV, "")
    if not value:
        raise BackupError(f"set the passphrase in the environment variable {PASSPHRASE_ENV}")
    return value


def _fernet(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> object:
    import base64

    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    key = Scrypt(salt=salt, length=32, n=2**log2_n, r=r, p=p).derive(passphrase.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def check_new_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")


def encrypt(data: bytes, passphrase: str) -> bytes:
    check_new_passphrase(passphrase)
    salt = os.urandom(SALT_BYTES)
    fernet = _fernet(passphrase, salt, LOG2_N, R, P)
    token: bytes = fernet.encrypt(data)  # type: ignore[attr-defined]
    return MAGIC + salt + bytes([LOG2_N, R, P]) + token


def decrypt(blob: bytes, passphrase: str) -> bytes:
    from cryptography.fernet import InvalidToken

    if not is_encrypted(blob):
        raise BackupError("the file is not an encrypted homecare backup")
    rest = blob[len(MAGIC) :]
    salt, params, token = (
        rest[:SALT_BYTES],
        rest[SALT_BYTES : SALT_BYTES + 3],
        rest[SALT_BYTES + 3 :],
    )
    if len(params) != 3 or not 10 <= params[0] <= 22 or not token:
        raise BackupError("the encrypted backup is damaged (its header is cut short)")
    fernet = _fernet(passphrase, salt, params[0], params[1], params[2])
    try:
        plain: bytes = fernet.decrypt(token)  # type: ignore[attr-defined]
    except InvalidToken:
        raise BackupError(
            "cannot decrypt the backup: wrong passphrase, or the file was changed or damaged"
        ) from None
    return plain
