"""What keeps a secret ballot unlinkable from the stored data: sealed box entries, keyed receipt
digests, and sealed texts (inbound payloads, stored replies, private outbox messages).

Rules (the threat model is in the README's security section):
1. A box entry of an open vote is sealed under the vote's sub-key with its random id as associated
   data: one letter for the choice and the receipt's keyed digest, so every ciphertext has the
   same length.
2. A receipt is never stored: only its keyed digest (HMAC with the server key), which a voter's
   「查回执」 recomputes.
3. A sealed text starts with `SEALED`, is padded before sealing (`ServerKey.seal_padded`) and is
   bound to its purpose and row key; a text without the prefix is one written before sealing
   existed and is read as it is.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterable

from bot import governance as g
from bot.keys import ENV_VAR, KeyProblem, SealError, ServerKey
from storage import models as m
from storage import seals
from storage.db import server_key
from storage.sql import raw_rows

SEALED = "sealed:1:"
_CODE = {g.Choice.YES: "Y", g.Choice.NO: "N", g.Choice.ABSTAIN: "A"}
_CHOICE = {code: choice for choice, code in _CODE.items()}


def new_receipt() -> str:
    return secrets.token_hex(4)


def new_entry_id() -> str:
    return secrets.token_hex(16)


def receipt_digest(receipt: str) -> str:
    return server_key().mac("secret-receipt", receipt.strip().lower())


def seal_ballot(vote_id: int, entry_id: str, choice: g.Choice, digest: str) -> str:
    return server_key().seal(f"ballot:{vote_id}", _CODE[choice] + digest, aad=entry_id)


def open_ballot(vote_id: int, entry_id: str, sealed: str) -> tuple[str, g.Choice]:
    """(receipt digest, choice) of a sealed entry; `SealError` when it does not open."""
    text = server_key().open_text(f"ballot:{vote_id}", sealed, aad=entry_id)
    if not text or text[0] not in _CHOICE:
        raise SealError("sealed ballot is malformed")
    return text[1:], _CHOICE[text[0]]


def seal_text(purpose: str, text: str, aad: str = "") -> str:
    if not text:
        return text
    return SEALED + server_key().seal_padded(purpose, text, aad)


def open_text(purpose: str, stored: str, aad: str = "") -> str:
    if not stored.startswith(SEALED):
        return stored
    return server_key().open_padded(purpose, stored[len(SEALED) :], aad)


async def check_key() -> None:
    """Load the server key and make sure it opens the sealed data already stored: `KeyProblem`
    (Chinese, what to do) when it is missing or is not the key the data was sealed with."""
    key = server_key()
    wrong = KeyProblem(
        f"服务器密钥（指纹 {key.fingerprint}）与数据库中已加密的数据不符：{ENV_VAR} 或密钥文件"
        "被更换了。请恢复原来的密钥；换用新密钥会使进行中的无记名投票无法开启。"
    )
    # The chain heads carry a MAC under the key: one genuine head shows the key is the one the
    # records were written with. A sealed row it cannot open is then tampering (verify names
    # it), not a changed key: one altered row had kept the bot from starting, blaming the key.
    fits = heads_fit(key, (await seals.heads(limit=HEADS_PROBED)).values())
    if fits is False or (fits is None and not await _some_open()):
        raise wrong


def heads_fit(key: ServerKey, heads: Iterable[seals.HeadRow]) -> bool | None:
    """Whether `key` is the key the records were written with, by their chain heads (a table's,
    or a backup's): True when one head is genuine under it, False when none is, None when there
    is no head to tell."""
    found = False
    for h in heads:
        if seals.head_is_genuine(key, h.chain_key, h):
            return True
        found = True
    return False if found else None


HEADS_PROBED = 50
ROWS_PROBED = 20


async def _some_open() -> bool:
    """Without chain heads (sealed queue rows only): whether the key opens any of the first
    sealed rows of each kind probed (True when there is none)."""
    like = SEALED + "%"
    probed = opened = 0
    for r in await raw_rows(
        m.SecretBallotSealed,
        f"SELECT id, vote_id, sealed FROM secret_ballot_sealed LIMIT {ROWS_PROBED}",
    ):
        probed += 1
        with contextlib.suppress(SealError):
            open_ballot(int(r["vote_id"]), str(r["id"]), str(r["sealed"]))
            opened += 1
    probes = (
        ("reply", m.ProcessedMessage, "id, reply", "processed_message WHERE reply"),
        ("inbound", m.InboundMessage, "key, payload", "inbound_message WHERE payload"),
        ("outbox", m.OutboxMessage, "channel, payload", "outbox_message WHERE payload"),
    )
    for purpose, model, columns, where in probes:
        query = f"SELECT {columns} FROM {where} LIKE ? LIMIT {ROWS_PROBED}"
        for r in await raw_rows(model, query, like):
            aad, value = (str(v) for v in r.values())
            probed += 1
            with contextlib.suppress(SealError):
                open_text(purpose, value, aad)
                opened += 1
    return opened > 0 or probed == 0
