"""The server's secret key: one secret that lives outside the database, from which every keyed
function of the record is derived (the chain's MACs, row seals, sealed secret ballots, sealed
inbound and outbox payloads).

Rules:
1. One secret, `YISHI_SECRET_KEY` (at least 32 random bytes, written as URL-safe base64 or hex).
   The embedded default (SQLite file) generates one on first use and keeps it in a file beside the
   database (mode 0600), so `yishi demo` needs no set-up. PostgreSQL requires the variable.
2. Each use has its own sub-key, derived with HMAC-SHA256 from the secret and a purpose label:
   a key for one purpose is useless for another, and a per-vote key is derived from the vote id.
3. `mac` is HMAC-SHA256 (hex); `seal`/`open` are AES-256-GCM with a random 96-bit nonce and the
   caller's associated data (binding a ciphertext to its row). `open` of anything tampered raises
   `SealError`.
4. `fingerprint` names the key without revealing it; storage keeps it to refuse a different key
   under existing data.
5. `seal_padded` pads the plaintext to a multiple of a block before sealing, so the length of a
   ciphertext does not tell which of several texts is inside (「投票 反对」 and 「投票 不同意」).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENV_VAR = "YISHI_SECRET_KEY"
KEY_FILE_NAME = "secret.key"
MIN_BYTES = 32
_NONCE = 12
_PAD_BLOCK = 256


class KeyProblem(Exception):
    """The key is missing or unusable: the message (Chinese) says what to do."""


class SealError(Exception):
    """A sealed value could not be opened: wrong key, wrong row, or tampered."""


def _decode(text: str) -> bytes:
    text = text.strip()
    for decode in (bytes.fromhex, _b64):
        try:
            raw = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(raw) >= MIN_BYTES:
            return raw
    raise KeyProblem(
        f"{ENV_VAR} 无效：应为至少 {MIN_BYTES} 字节的随机数，以十六进制或 base64 书写"
        '（可用 `python -c "import secrets; print(secrets.token_urlsafe(32))"` 生成）。'
    )


def _b64(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def new_key_text() -> str:
    return secrets.token_urlsafe(MIN_BYTES)


@dataclass(frozen=True)
class ServerKey:
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_BYTES:
            raise KeyProblem(f"密钥太短：至少需要 {MIN_BYTES} 字节。")

    @classmethod
    def from_text(cls, text: str) -> ServerKey:
        return cls(_decode(text))

    def derive(self, purpose: str) -> bytes:
        """A 32-byte sub-key for one purpose (e.g. "chain", "ballot:42")."""
        return hmac.new(self.secret, b"yishi/" + purpose.encode("utf-8"), hashlib.sha256).digest()

    def mac(self, purpose: str, data: str | bytes) -> str:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        return hmac.new(self.derive(purpose), raw, hashlib.sha256).hexdigest()

    def check_mac(self, purpose: str, data: str | bytes, expected: str) -> bool:
        return hmac.compare_digest(self.mac(purpose, data), expected)

    def seal(self, purpose: str, plaintext: str | bytes, aad: str = "") -> str:
        """AES-256-GCM under the purpose's sub-key; the result is URL-safe base64 text."""
        raw = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(self.derive(purpose)).encrypt(nonce, raw, aad.encode("utf-8"))
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, purpose: str, token: str, aad: str = "") -> bytes:
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii"))
        except (ValueError, binascii.Error) as exc:
            raise SealError("not a sealed value") from exc
        if len(raw) < _NONCE + 16:
            raise SealError("not a sealed value")
        try:
            return AESGCM(self.derive(purpose)).decrypt(
                raw[:_NONCE], raw[_NONCE:], aad.encode("utf-8")
            )
        except InvalidTag as exc:
            raise SealError("sealed value does not open with this key") from exc

    def open_text(self, purpose: str, token: str, aad: str = "") -> str:
        return self.open(purpose, token, aad).decode("utf-8")

    def seal_padded(self, purpose: str, plaintext: str, aad: str = "") -> str:
        """`seal` of the text padded to a multiple of 256 bytes (4-byte length first)."""
        raw = plaintext.encode("utf-8")
        framed = len(raw).to_bytes(4, "big") + raw
        framed += b"\0" * (-len(framed) % _PAD_BLOCK)
        return self.seal(purpose, framed, aad)

    def open_padded(self, purpose: str, token: str, aad: str = "") -> str:
        framed = self.open(purpose, token, aad)
        size = int.from_bytes(framed[:4], "big")
        if size > len(framed) - 4:
            raise SealError("padded value is malformed")
        return framed[4 : 4 + size].decode("utf-8")

    @property
    def fingerprint(self) -> str:
        """Names the key (16 hex), reveals nothing about it."""
        return self.mac("fingerprint", b"")[:16]


def key_file_for(database_url: str) -> Path | None:
    """The key file of an embedded (SQLite file) database: beside it. None for other engines."""
    if not database_url.startswith("sqlite:"):
        return None
    path = database_url[len("sqlite://") :].split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path).parent / KEY_FILE_NAME


def load_key(
    database_url: str, env: Mapping[str, str] | None = None, *, create: bool = True
) -> ServerKey:
    """The key from the environment; for an embedded database the key file beside it (made on
    first use when `create`); otherwise `KeyProblem` with what to do."""
    environ = os.environ if env is None else env
    text = environ.get(ENV_VAR, "")
    if text:
        return ServerKey.from_text(text)
    path = key_file_for(database_url)
    if path is None and database_url.startswith("sqlite:"):
        return ServerKey(
            secrets.token_bytes(MIN_BYTES)
        )  # an in-memory database: nothing outlives it
    if path is None:
        raise KeyProblem(
            f"缺少服务器密钥：使用 PostgreSQL 时必须设置环境变量 {ENV_VAR}（所有实例使用同一个值，"
            "妥善备份；丢失后无法核验记录链、无法开启进行中的无记名投票）。"
        )
    if path.exists():
        try:
            return ServerKey.from_text(path.read_text(encoding="ascii"))
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyProblem(f"无法读取密钥文件 {path}：{exc}") from exc
    if not create:
        raise KeyProblem(f"找不到密钥文件 {path}，也没有设置环境变量 {ENV_VAR}。")
    text = new_key_text()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(text + "\n")
    except FileExistsError:
        return ServerKey.from_text(path.read_text(encoding="ascii"))
    except OSError as exc:
        raise KeyProblem(f"无法创建密钥文件 {path}：{exc}") from exc
    return ServerKey.from_text(text)
