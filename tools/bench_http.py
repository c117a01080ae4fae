"""The HTTP clients of tools/bench_service.py: a small keep-alive HTTP/1.1 client on asyncio
streams (``stream``, the default) and httpx (``httpx``, the client of the earlier figures).

The benchmark runs its client on the same two cores as the service, so the client's CPU
is taken from the service: httpx spends about a third of the CPU of an answer, client and
server together (docs/performance.md). ``StreamClient`` does only what the service needs:
one request at a time on a connection, JSON bodies with ``Content-Length``, responses
with ``Content-Length`` (or chunked), connections kept alive and reused, last used first.
Both raise :class:`TransportError` when a request got no response (the connection
failed, was closed, or timed out), so the caller can send it again with its
``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit


class TransportError(Exception):
    """The request got no response: it may or may not have reached the service."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Client(Protocol):
    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply: ...

    async def aclose(self) -> None: ...


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class StreamClient:
    """Keep-alive HTTP/1.1 over asyncio streams; a pool of idle connections, last used first
    (so the connections in use stay few and warm)."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 120) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"{base_url}: only http://HOST:PORT is supported")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.timeout = timeout
        base = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        self._base = "".join(f"{k}: {v}\r\n" for k, v in base.items())
        self._idle: list[_Connection] = []

    async def _connection(self) -> _Connection:
        if self._idle:
            return self._idle.pop()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, limit=1 << 20), self.timeout
            )
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"connect: {type(exc).__name__} {exc}") from exc
        return _Connection(reader, writer)

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        kind = "Content-Type: application/json\r\n" if body is not None else ""
        head = f"{method} {path} HTTP/1.1\r\n{self._base}{extra}{kind}Content-Length: {len(payload)}\r\n\r\n"
        connection = await self._connection()
        try:
            connection.writer.write(head.encode("latin-1") + payload)
            reply, keep = await asyncio.wait_for(_read_reply(connection.reader), self.timeout)
        except (OSError, EOFError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            connection.close()
            raise TransportError(f"{type(exc).__name__} {exc}") from exc
        if keep:
            self._idle.append(connection)
        else:
            connection.close()
        return reply

    async def aclose(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()


async def _read_reply(reader: asyncio.StreamReader) -> tuple[Reply, bool]:
    """One response, and whether the connection may be used again."""
    status_line = await reader.readuntil(b"\r\n")
    if not status_line.startswith(b"HTTP/1."):
        raise ValueError(f"not an HTTP response: {status_line[:40]!r}")
    status = int(status_line.split(b" ", 2)[1])
    headers: dict[str, str] = {}
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
            pass
        body = b"".join(chunks)
    else:  # the body runs to the end of the connection
        return Reply(status, headers, await reader.read()), False
    keep = headers.get("connection", "").lower() != "close" and status_line.startswith(b"HTTP/1.1")
    return Reply(status, headers, body), keep


class HttpxClient:
    """The same interface over httpx.AsyncClient (the earlier benchmark client)."""

    # The client drops an idle connection before uvicorn does, so that a request is never
    # sent on a connection the server is closing.
    KEEPALIVE = 2.0

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str] | None = None,
        timeout: float = 120,
        connections: int = 200,
    ) -> None:
        import httpx

        self._httpx = httpx
        limits = httpx.Limits(
            max_connections=connections,
            max_keepalive_connections=connections,
            keepalive_expiry=self.KEEPALIVE,
        )
        self._client = httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=timeout)

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        httpx = self._httpx
        try:
            response = await self._client.request(method, path, json=body, headers=headers)
        except (
            httpx.ReadError,
            httpx.RemoteProtocolError,
            httpx.TimeoutException,
            httpx.ConnectError,
        ) as exc:
            raise TransportError(f"{type(exc).__name__} {exc}") from exc
        return Reply(
            response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content
        )

    async def aclose(self) -> None:
        await self._client.aclose()


CLIENTS = ("stream", "httpx")


def make_client(
    kind: str, base_url: str, headers: dict[str, str] | None = None, connections: int = 200
) -> Client:
    if kind == "stream":
        return StreamClient(base_url, headers)
    if kind == "httpx":
        return HttpxClient(base_url, headers, connections=connections)
    raise ValueError(f"unknown client '{kind}' (one of: {', '.join(CLIENTS)})")
