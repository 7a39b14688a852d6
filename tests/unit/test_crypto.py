"""Secrets at rest: the encryption adapter (docs/security.md item 48)."""

from __future__ import annotations

import base64
import stat
import threading
from pathlib import Path

import pytest

from billing_app.adapters import crypto
from billing_app.settings import Settings

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def with_keys(tmp_path: Path, *keys: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_key=",".join(keys) if keys else None)


def test_round_trip_gives_a_versioned_ciphertext_that_never_shows_the_secret(
    tmp_path: Path,
) -> None:
    settings = with_keys(tmp_path, crypto.generate_key())
    token = crypto.encrypt(SECRET, purpose="totp", settings=settings)
    again = crypto.encrypt(SECRET, purpose="totp", settings=settings)
    assert token.startswith("v1:") and crypto.is_encrypted(token)
    assert SECRET not in token and SECRET.lower() not in token.lower()
    assert token != again, "a fresh nonce each time"
    assert crypto.decrypt(token, purpose="totp", settings=settings) == SECRET
    assert crypto.decrypt(again, purpose="totp", settings=settings) == SECRET
    unicode = crypto.encrypt("sk_live_é€", purpose="stripe.secret", settings=settings)
    assert crypto.decrypt(unicode, purpose="stripe.secret", settings=settings) == "sk_live_é€"
    assert len(token) <= 255, "fits staff_user.totp_secret"


def test_a_changed_ciphertext_is_detected(tmp_path: Path) -> None:
    settings = with_keys(tmp_path, crypto.generate_key())
    token = crypto.encrypt(SECRET, purpose="totp", settings=settings)
    raw = bytearray(base64.urlsafe_b64decode(token.removeprefix("v1:")))
    for position in (0, 12, len(raw) // 2, len(raw) - 1):  # nonce, body, tag
        changed = bytearray(raw)
        changed[position] ^= 0x01
        forged = "v1:" + base64.urlsafe_b64encode(bytes(changed)).decode()
        with pytest.raises(crypto.DecryptionError, match="was changed"):
            crypto.decrypt(forged, purpose="totp", settings=settings)
    for broken in (token[:20], "v1:!!!", SECRET, "", "v2:" + token[3:]):
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(broken, purpose="totp", settings=settings)


def test_a_ciphertext_only_opens_for_its_purpose(tmp_path: Path) -> None:
    settings = with_keys(tmp_path, crypto.generate_key())
    token = crypto.encrypt(SECRET, purpose="totp", settings=settings)
    for other in ("oidc", "stripe.webhook", "totp2"):
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(token, purpose=other, settings=settings)
    with pytest.raises(ValueError, match="purpose"):
        crypto.encrypt(SECRET, purpose="", settings=settings)


def test_rotation_new_key_encrypts_old_keys_still_decrypt(tmp_path: Path) -> None:
    old, new = crypto.generate_key(), crypto.generate_key()
    before = crypto.encrypt(SECRET, purpose="totp", settings=with_keys(tmp_path, old))
    rotated = with_keys(tmp_path, new, old)
    assert crypto.decrypt(before, purpose="totp", settings=rotated) == SECRET
    after = crypto.encrypt(SECRET, purpose="totp", settings=rotated)
    assert crypto.decrypt(after, purpose="totp", settings=with_keys(tmp_path, new)) == SECRET
    with pytest.raises(crypto.DecryptionError, match="not the one"):
        crypto.decrypt(after, purpose="totp", settings=with_keys(tmp_path, old))
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(before, purpose="totp", settings=with_keys(tmp_path, crypto.generate_key()))


def test_bad_keys_are_refused_without_showing_them(tmp_path: Path) -> None:
    short = base64.urlsafe_b64encode(b"x" * 16).decode()
    bad = ((short, "key 1 is not 32 bytes"), ("not base64!", "key 1"), (",", "no key"))
    for value, match in bad:
        with pytest.raises(crypto.SecretKeyInvalid, match=match) as exc:
            crypto.encrypt(SECRET, purpose="totp", settings=with_keys(tmp_path, value))
        assert value not in str(exc.value) or value == ","
    unpadded = crypto.generate_key().rstrip("=")
    settings = with_keys(tmp_path, unpadded)
    token = crypto.encrypt(SECRET, purpose="totp", settings=settings)
    assert crypto.decrypt(token, purpose="totp", settings=settings) == SECRET


def test_the_key_file_is_created_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    settings = with_keys(tmp_path)
    path = tmp_path / "data" / "secret.key"
    with pytest.raises(crypto.SecretKeyMissing):
        crypto.decrypt("v1:" + "A" * 40, purpose="totp", settings=settings)
    assert not path.exists(), "decrypting never makes a key"
    assert not crypto.key_configured(settings)

    token = crypto.encrypt(SECRET, purpose="totp", settings=settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_text()
    assert len(crypto.parse_keys(content)) == 1
    assert crypto.key_configured(settings) and not crypto.key_from_environment(settings)
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"], "no temporary file left"

    crypto.encrypt(SECRET, purpose="totp", settings=settings)
    assert path.read_text() == content, "reused, never replaced"
    later = Settings(data_dir=tmp_path / "data", secret_key=None)  # e.g. the next start
    assert crypto.decrypt(token, purpose="totp", settings=later) == SECRET


def test_processes_starting_together_agree_on_one_key_file(tmp_path: Path) -> None:
    settings = with_keys(tmp_path)
    seen: list[tuple[bytes, ...]] = []
    barrier = threading.Barrier(8)

    def first_use() -> None:
        barrier.wait()
        seen.append(crypto.load_keys(settings, create=True))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and len(set(seen)) == 1
    assert crypto.load_keys(settings) == seen[0]


def test_the_environment_key_wins_over_the_key_file(tmp_path: Path) -> None:
    from_file = crypto.encrypt(SECRET, purpose="totp", settings=with_keys(tmp_path))
    env_key = crypto.generate_key()
    settings = with_keys(tmp_path, env_key)
    assert crypto.key_from_environment(settings)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(from_file, purpose="totp", settings=settings)
    token = crypto.encrypt(SECRET, purpose="totp", settings=settings)
    assert crypto.decrypt(token, purpose="totp", settings=with_keys(tmp_path / "x", env_key))
