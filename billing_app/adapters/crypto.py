"""Secrets at rest (docs/security.md item 48): authenticated encryption of the secrets we must be
able to read back (TOTP secrets today; Stripe and OIDC secrets when they land).

Ciphertext format: ``v1:`` followed by URL-safe base64 (padded) of a 12-byte random nonce and the
AES-256-GCM ciphertext with its 16-byte tag. The AES key is derived from the master key with
HKDF-SHA256, ``info = "client-billing/secret/v1/" + purpose``, and ``v1:<purpose>`` is the
associated data: a value encrypted for one purpose ("totp") never decrypts as another. The
version prefix leaves room for another scheme later.

Key material: one or more master keys, each 32 random bytes in URL-safe base64 (44 characters,
the padding ``=`` optional), separated by commas (or newlines in the key file), newest first.
New values are encrypted with the first key; any of them decrypts, so a key is rotated by
putting the new one in front and keeping the old ones until nothing uses them. The keys come
from ``BILLING_SECRET_KEY`` when it is set, otherwise from ``<data dir>/secret.key``, which is
created on first use (mode 0600, written atomically, never replaced) and carried by backups.
Make a key with::

    python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"

Decrypting never creates a key: without one it raises ``SecretKeyMissing``, and with keys that do
not fit (or a changed value) ``DecryptionError``. Nothing here logs or returns key material.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import re
import secrets
import stat
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from billing_app.settings import Settings, get_settings

log = logging.getLogger(__name__)

PREFIX = "v1:"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_FILE_NAME = "secret.key"
_PURPOSE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_warned_about: set[Path] = set()


class CryptoError(RuntimeError):
    """A secret could not be encrypted or decrypted; the message says why (never the key)."""


class SecretKeyInvalid(CryptoError):
    """BILLING_SECRET_KEY or the key file does not hold valid keys."""


class SecretKeyMissing(CryptoError):
    """There is no key to decrypt with (BILLING_SECRET_KEY unset and no key file)."""


class DecryptionError(CryptoError):
    """No configured key opens the value: the wrong key, another purpose, or a changed value."""


def generate_key() -> str:
    """A new master key in the format above."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_keys(text: str, *, source: str = "BILLING_SECRET_KEY") -> tuple[bytes, ...]:
    """The master keys in ``text`` (comma- or newline-separated, newest first)."""
    keys: list[bytes] = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != KEY_BYTES:
            msg = (
                f"{source}: key {len(keys) + 1} is not {KEY_BYTES} bytes in URL-safe base64 "
                "(see README.md, 'The secret key')."
            )
            raise SecretKeyInvalid(msg)
        keys.append(raw)
    if not keys:
        msg = f"{source} holds no key."
        raise SecretKeyInvalid(msg)
    return tuple(keys)


def key_file(settings: Settings | None = None) -> Path:
    """Where the key lives when BILLING_SECRET_KEY is unset."""
    return (settings or get_settings()).data_dir.resolve() / KEY_FILE_NAME


def key_from_environment(settings: Settings | None = None) -> bool:
    """Whether the keys come from BILLING_SECRET_KEY (which then wins over the key file)."""
    secret = (settings or get_settings()).secret_key
    return secret is not None and bool(secret.get_secret_value().strip())


def key_configured(settings: Settings | None = None) -> bool:
    """Whether a key exists already (set in the environment, or the key file is there)."""
    return key_from_environment(settings) or key_file(settings).is_file()


def _read_key_file(path: Path) -> tuple[bytes, ...]:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and path not in _warned_about:
        _warned_about.add(path)
        log.warning("%s is open to other users: chmod 600 it", path)
    return parse_keys(path.read_text(encoding="ascii"), source=str(path))


def write_key_file(path: Path, content: str, *, replace: bool = False) -> None:
    """Write ``content`` (keys) to ``path`` with mode 0600, atomically. Without ``replace`` an
    existing file is kept (the first writer wins: two processes starting at once agree)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".secret.key.", dir=path.parent)  # mode 0600
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(content.strip() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(0o600)
        if replace:
            tmp.replace(path)
        else:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)  # atomic, and never replaces a key written meanwhile
    finally:
        tmp.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def load_keys(settings: Settings | None = None, *, create: bool = False) -> tuple[bytes, ...]:
    """The master keys, newest first. With ``create``, a missing key file is made (first use)."""
    settings = settings or get_settings()
    if settings.secret_key is not None and key_from_environment(settings):
        return parse_keys(settings.secret_key.get_secret_value())
    path = key_file(settings)
    if not path.is_file():
        if not create:
            msg = (
                f"No secret key: BILLING_SECRET_KEY is not set and {path} does not exist "
                "(see README.md, 'The secret key')."
            )
            raise SecretKeyMissing(msg)
        write_key_file(path, generate_key())
        log.info("created the secret key %s (keep it: backups carry it)", path)
    return _read_key_file(path)


def _check_purpose(purpose: str) -> None:
    if not _PURPOSE.fullmatch(purpose):
        msg = f"invalid purpose {purpose!r}"
        raise ValueError(msg)


def _aead(key: bytes, purpose: str) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=f"client-billing/secret/{PREFIX}{purpose}".encode(),
    ).derive(key)
    return AESGCM(derived)


def _associated_data(purpose: str) -> bytes:
    return f"{PREFIX}{purpose}".encode()


def is_encrypted(value: str) -> bool:
    """Whether ``value`` is a ciphertext of ours (as opposed to empty or plain text)."""
    return value.startswith(PREFIX)


def encrypt(plaintext: str, *, purpose: str, settings: Settings | None = None) -> str:
    """``plaintext`` encrypted with the newest key for ``purpose`` (e.g. "totp")."""
    _check_purpose(purpose)
    key = load_keys(settings, create=True)[0]
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = _aead(key, purpose).encrypt(
        nonce, plaintext.encode("utf-8"), _associated_data(purpose)
    )
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def decrypt(token: str, *, purpose: str, settings: Settings | None = None) -> str:
    """The plain text of a value ``encrypt`` made for ``purpose``, with any configured key."""
    _check_purpose(purpose)
    if not is_encrypted(token):
        msg = f"The stored {purpose} secret is not an encrypted value."
        raise DecryptionError(msg)
    try:
        raw = base64.urlsafe_b64decode(token.removeprefix(PREFIX).encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        msg = f"The stored {purpose} secret is damaged."
        raise DecryptionError(msg) from exc
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        msg = f"The stored {purpose} secret is damaged."
        raise DecryptionError(msg)
    nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    for key in load_keys(settings):
        try:
            plain = _aead(key, purpose).decrypt(nonce, sealed, _associated_data(purpose))
        except InvalidTag:
            continue
        return plain.decode("utf-8")
    msg = (
        f"No configured secret key decrypts the stored {purpose} secret: the key is not the one "
        "it was encrypted with (BILLING_SECRET_KEY or secret.key), or the value was changed."
    )
    raise DecryptionError(msg)
