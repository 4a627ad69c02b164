"""A ``text/event-stream`` response that ends when it must: client gone, cut off, drain.

The event bytes come from an async iterator (framed with FastAPI's own
``fastapi.sse.format_sse_event``); this response sends them and runs, in one task group
for the life of the request, the two things a stream needs besides: a listener for the
client's disconnect, and a watchdog for ``ended`` — the stream's subscription was cut
off (slow consumer) or closed (drain). When ``ended`` fires the iterator gets ``grace``
seconds to send its last event and finish; a client that is not reading by then is
disconnected, so neither a stalled socket nor a draining server waits on it.

Whatever ends the stream, ``cleanup`` (an ``ExitStack``: the subscription, the user's
stream slot) is released exactly once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import ExitStack, aclosing

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

__all__ = ["EVENT_STREAM", "EventStreamResponse"]

EVENT_STREAM = "text/event-stream"


class EventStreamResponse(StreamingResponse):
    """Streams ``events`` until they end, the client leaves, or ``ended`` (plus ``grace``)."""

    def __init__(
        self,
        events: AsyncGenerator[bytes, None],
        *,
        ended: anyio.Event,
        cleanup: ExitStack,
        grace: float = 5.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            events,
            media_type=EVENT_STREAM,
            # nginx and similar proxies would otherwise buffer the stream.
            headers={"cache-control": "no-store", "x-accel-buffering": "no", **(headers or {})},
        )
        self.events = events
        self.ended = ended
        self.cleanup = cleanup
        self.grace = grace

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self.cleanup:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            finished = anyio.Event()
            async with anyio.create_task_group() as tg:

                async def stream() -> None:
                    async with aclosing(self.events):
                        async for chunk in self.events:
                            body = {"type": "http.response.body", "body": chunk, "more_body": True}
                            await send(body)
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    finished.set()
                    tg.cancel_scope.cancel()

                async def until_disconnected() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    tg.cancel_scope.cancel()

                async def watchdog() -> None:
                    await self.ended.wait()
                    with anyio.move_on_after(self.grace):
                        await finished.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(stream)
                tg.start_soon(until_disconnected)
                tg.start_soon(watchdog)
