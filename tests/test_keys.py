"""The server key: derivation, MACs, sealing, and where the key comes from."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from bot.keys import ENV_VAR, KeyProblem, SealError, ServerKey, key_file_for, load_key, new_key_text


def test_sub_keys_differ_by_purpose_and_key() -> None:
    a = ServerKey.from_text(new_key_text())
    b = ServerKey.from_text(new_key_text())
    assert a.derive("chain") != a.derive("ballot:1")
    assert a.derive("chain") != b.derive("chain")
    assert a.mac("chain", "x") == a.mac("chain", b"x")
    assert a.check_mac("chain", "x", a.mac("chain", "x"))
    assert not a.check_mac("chain", "y", a.mac("chain", "x"))
    assert a.fingerprint != b.fingerprint
    assert len(a.fingerprint) == 16


def test_seal_opens_only_with_the_same_key_purpose_and_row() -> None:
    key = ServerKey.from_text(new_key_text())
    token = key.seal("ballot:7", "yes", aad="row-1")
    assert "yes" not in token
    assert key.open_text("ballot:7", token, aad="row-1") == "yes"
    assert key.seal("ballot:7", "yes", aad="row-1") != token  # a fresh nonce each time
    for purpose, aad in (("ballot:8", "row-1"), ("ballot:7", "row-2")):
        with pytest.raises(SealError):
            key.open(purpose, token, aad=aad)
    other = ServerKey.from_text(new_key_text())
    with pytest.raises(SealError):
        other.open("ballot:7", token, aad="row-1")
    raw = bytearray(base64.urlsafe_b64decode(token))
    for index in (0, 12, len(raw) - 1):  # nonce, ciphertext, tag
        changed = bytearray(raw)
        changed[index] ^= 1
        with pytest.raises(SealError):
            key.open("ballot:7", base64.urlsafe_b64encode(bytes(changed)).decode(), aad="row-1")
    with pytest.raises(SealError):
        key.open("ballot:7", "not base64 !!", aad="row-1")


def test_key_text_forms_and_refusals() -> None:
    raw = os.urandom(32)
    assert ServerKey.from_text(raw.hex()).secret == raw
    with pytest.raises(KeyProblem, match="至少 32 字节"):
        ServerKey.from_text("abc")


def test_embedded_database_gets_a_key_file_once(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'data' / 'yishi.db'}"
    path = key_file_for(url)
    assert path == tmp_path / "data" / "secret.key"
    first = load_key(url, {})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(url, {}).secret == first.secret
    env = {ENV_VAR: new_key_text()}
    assert load_key(url, env).secret != first.secret  # the environment wins
    with pytest.raises(KeyProblem, match="找不到密钥文件"):
        load_key(f"sqlite://{tmp_path / 'other' / 'x.db'}", {}, create=False)


def test_postgresql_requires_the_variable() -> None:
    with pytest.raises(KeyProblem, match=ENV_VAR):
        load_key("postgres://u@127.0.0.1/yishi", {})
    assert load_key("postgres://u@127.0.0.1/yishi", {ENV_VAR: new_key_text()})


def test_padded_seals_hide_the_length_of_what_is_inside() -> None:
    key = ServerKey.from_text(new_key_text())
    texts = ("投票 赞成", "投票 不同意", "弃权", "x" * 252)  # 4 bytes of length + 252 = one block
    tokens = [key.seal_padded("inbound", text, aad="k") for text in texts]
    assert len({len(token) for token in tokens}) == 1
    assert [key.open_padded("inbound", token, aad="k") for token in tokens] == list(texts)
    assert len(key.seal_padded("inbound", "x" * 253)) > len(tokens[0])  # the next block
    with pytest.raises(SealError):
        key.open_padded("inbound", tokens[0], aad="other")
