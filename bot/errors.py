"""Walking an exception: what caused it, and what it holds (the exceptions of a group, those
passed as arguments). storage/faults.py says which of them a retry may outlast; the adapters,
which import no storage, ask the same walk whether a failure was the database's."""

from __future__ import annotations

# How many exceptions one walk looks at at most (a cycle of causes ends it too).
CAUSES_MAX = 16


def causes(exc: BaseException) -> list[BaseException]:
    """`exc`, its causes and contexts, the exceptions among its arguments and, for a group (a
    TaskGroup's), its exceptions; each once."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen) or len(seen) > CAUSES_MAX:
            continue
        seen.append(e)
        todo += [e.__cause__, e.__context__]
        todo += [a for a in e.args if isinstance(a, BaseException)]
        if isinstance(e, BaseExceptionGroup):
            todo += list(e.exceptions)
    return seen
