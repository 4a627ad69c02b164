"""Reading a ``text/event-stream`` the way a browser's EventSource does, for tests.

:func:`parse` turns lines into :class:`Message` values — one per event, and one per
comment line (a heartbeat), with the id in force after it — following the WHATWG
parsing rules the streams rely on: an ``id`` field sets the resume point even in a
block without data.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Message", "aparse", "parse"]


@dataclass(frozen=True)
class Message:
    event: str | None  # None for a comment
    data: str
    id: str | None  # the last event id after this block
    comment: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


class _Parser:
    def __init__(self) -> None:
        self.last_id: str | None = None
        self._event: str | None = None
        self._data: list[str] = []
        self._comment: str | None = None

    def feed(self, line: str) -> Message | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            self._comment = line[1:].strip()
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        elif field == "id":
            self.last_id = value
        return None

    def _dispatch(self) -> Message | None:
        event, data, comment = self._event, self._data, self._comment
        self._event, self._data, self._comment = None, [], None
        if data:
            return Message(event or "message", "\n".join(data), self.last_id)
        if comment is not None:
            return Message(None, "", self.last_id, comment)
        return None


def parse(lines: Iterable[str]) -> Iterator[Message]:
    parser = _Parser()
    for line in lines:
        message = parser.feed(line.rstrip("\r\n"))
        if message is not None:
            yield message


async def aparse(lines: AsyncIterator[str]) -> AsyncIterator[Message]:
    parser = _Parser()
    async for line in lines:
        message = parser.feed(line.rstrip("\r\n"))
        if message is not None:
            yield message
