"""The load generator: many concurrent clients in one asyncio loop, recording when each
request started, how long it took and what came back. Two ways to load a server:

- closed loop (`closed_loop`): N clients, each sending its next request when the previous
  one is answered. Latency then follows from Little's law (≈ clients ÷ throughput) as soon
  as the server is saturated: it measures capacity, not the wait a person sees.
- open loop (`open_loop`): jobs (a couple and its retries) arrive at a fixed rate whatever
  the server does, as people do in a rush; latency is the wait at that rate, and a rate
  beyond capacity shows as a queue that grows for as long as the run lasts.

Two HTTP clients with the same interface:
- `raw` (default): HTTP/1.1 over asyncio streams, one connection per request, as gunicorn's
  sync workers close the connection after each answer. About a tenth of httpx's CPU per
  request, which matters on a 2-core machine where the generator and the server share the
  cores: the generator's own cost would otherwise cap the figures it reports.
- `httpx`: httpx.AsyncClient, for comparison (`--client httpx`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body) if self.body else None

    @property
    def code(self) -> str:
        """The problem+json `code` of an error answer, else the status as text."""
        if self.status >= 400 and self.body:
            try:
                return str(self.json().get("code") or self.status)
            except (ValueError, AttributeError):
                return str(self.status)
        return str(self.status)


@dataclass
class Sample:
    started: float  # time.perf_counter() when the request was sent
    seconds: float
    status: int  # 0: no answer (connection refused or reset, timeout)
    code: str  # the problem code, the status as text, or the exception's name


class RawClient:
    """Minimal HTTP/1.1: `Connection: close`, read to EOF, Content-Length or chunked."""

    def __init__(self, base_url: str, timeout: float = 60.0):
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout

    async def request(self, method: str, path: str, json_body=None, headers=None,
                      params: dict | None = None, form: dict | None = None) -> Answer:
        if params:
            path = f"{path}?{urlencode(params)}"
        body = b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 "Connection: close", "User-Agent: xiyue-bench"]
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode()
            lines.append("Content-Type: application/json")
        elif form is not None:
            body = urlencode(form).encode()
            lines.append("Content-Type: application/x-www-form-urlencoded")
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        for key, value in (headers or {}).items():
            lines.append(f"{key}: {value}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        return await asyncio.wait_for(self._exchange(raw), self.timeout)

    async def _exchange(self, raw: bytes) -> Answer:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(raw)
            await writer.drain()
            data = await reader.read(-1)
        finally:
            writer.close()
        return parse_response(data)

    async def close(self) -> None:
        return None


def parse_response(data: bytes) -> Answer:
    head, _, body = data.partition(b"\r\n\r\n")
    if not head:
        raise ConnectionError("empty answer")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    elif "content-length" in headers:
        body = body[:int(headers["content-length"])]
    return Answer(status, headers, body)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2:]
    return bytes(out)


class HttpxClient:
    def __init__(self, base_url: str, timeout: float = 60.0, connections: int = 1000):
        import httpx

        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=timeout,
            limits=httpx.Limits(max_connections=connections,
                                max_keepalive_connections=connections))

    async def request(self, method: str, path: str, json_body=None, headers=None,
                      params: dict | None = None, form: dict | None = None) -> Answer:
        response = await self._client.request(method, path, json=json_body, headers=headers,
                                              params=params, data=form)
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()},
                      response.content)

    async def close(self) -> None:
        await self._client.aclose()


def make_client(kind: str, base_url: str, timeout: float = 60.0):
    if kind == "httpx":
        return HttpxClient(base_url, timeout)
    if kind == "raw":
        return RawClient(base_url, timeout)
    raise ValueError(f"unknown client {kind!r}: raw or httpx")


@dataclass
class Run:
    """The samples of one run and its wall time. Open loop: the arrival rate, the most jobs
    in flight at once, and how late the generator started jobs (on a loaded machine it can
    fall behind its own schedule, which would hide queueing)."""

    samples: list[Sample] = field(default_factory=list)
    wall_seconds: float = 0.0
    concurrency: int = 0
    rate: float = 0.0
    max_in_flight: int = 0
    start_lag_s: list[float] = field(default_factory=list)

    def codes(self) -> dict[str, int]:
        return dict(sorted(Counter(s.code for s in self.samples).items()))

    def count(self, *codes: str) -> int:
        return sum(1 for s in self.samples if s.code in codes)

    def per_second(self, *codes: str) -> float:
        n = self.count(*codes) if codes else len(self.samples)
        return n / self.wall_seconds if self.wall_seconds else 0.0

    def latency_ms(self, *codes: str) -> dict[str, float]:
        chosen = [s.seconds for s in self.samples if not codes or s.code in codes]
        return percentiles(chosen)

    def server_errors(self) -> int:
        return sum(1 for s in self.samples if s.status >= 500 or s.status == 0)


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds (nearest-rank)."""
    if not seconds:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    ordered = sorted(seconds)

    def rank(p: float) -> float:
        index = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
        return ordered[index] * 1000

    return {"n": len(ordered), "p50": round(rank(50), 2), "p95": round(rank(95), 2),
            "p99": round(rank(99), 2), "max": round(ordered[-1] * 1000, 2),
            "mean": round(sum(ordered) / len(ordered) * 1000, 2)}


Job = Callable[["Recorder"], Awaitable[None]]


class Recorder:
    """What a job uses to send requests: each request becomes one Sample."""

    def __init__(self, client, run: Run):
        self.client = client
        self.run = run

    async def send(self, method: str, path: str, **kwargs) -> Answer | None:
        started = time.perf_counter()
        try:
            answer = await self.client.request(method, path, **kwargs)
        except Exception as error:  # any failure is a sample: refused, reset, timeout
            self.run.samples.append(Sample(started, time.perf_counter() - started, 0,
                                           type(error).__name__))
            return None
        self.run.samples.append(Sample(started, time.perf_counter() - started,
                                       answer.status, answer.code))
        return answer


async def closed_loop(client, jobs: list[Job], concurrency: int) -> Run:
    """Run `jobs` (each one or more dependent requests, e.g. a couple retrying another slot)
    with `concurrency` clients, all starting at the same instant."""
    run = Run(concurrency=concurrency)
    recorder = Recorder(client, run)
    queue = list(jobs)
    queue.reverse()

    async def worker():
        while queue:
            job = queue.pop()
            await job(recorder)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.wall_seconds = time.perf_counter() - started
    return run


async def open_loop(client, jobs: list[Job], rate: float) -> Run:
    """Start job i at i ÷ `rate` seconds after the first, whatever the answers: a fixed
    arrival rate (each job one or more dependent requests, e.g. a couple retrying another
    slot). Latency is from each request's send; `start_lag_s` says how late each job
    started against its schedule."""
    run = Run(rate=rate)
    recorder = Recorder(client, run)
    in_flight = 0

    async def start(job: Job) -> None:
        nonlocal in_flight
        in_flight += 1
        run.max_in_flight = max(run.max_in_flight, in_flight)
        try:
            await job(recorder)
        finally:
            in_flight -= 1

    tasks = []
    started = time.perf_counter()
    for i, job in enumerate(jobs):
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        run.start_lag_s.append(max(0.0, time.perf_counter() - due))
        tasks.append(asyncio.create_task(start(job)))
    await asyncio.gather(*tasks)
    run.wall_seconds = time.perf_counter() - started
    run.concurrency = run.max_in_flight
    return run
