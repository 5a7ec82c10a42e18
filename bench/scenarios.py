"""What the benchmark does to a running server, over HTTP only (docs/api.md §3): the release
rush, the framework ceiling, the hall (check-in, call-next, call-to-display), reads, SMS
dispatch, the statistics pages."""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass, field

from bench.client import (
    Answer,
    Recorder,
    Run,
    closed_loop,
    make_client,
    open_loop,
    percentiles,
)
from bench.ids import couple

OFFICE = "bench"


def booking_body(index: int, day: str, start: str) -> dict:
    return {"office": OFFICE, "service": "marriage", "date": day, "start": start,
            "applicants": couple(index)}


async def bookable_slots(client, day: str) -> list[dict]:
    """The day's bookable slots ({"start", "capacity", "remaining", …}) as a couple sees them."""
    answer = await client.request("GET", f"/api/v1/offices/{OFFICE}/availability",
                                  params={"service": "marriage", "from": day, "days": 1})
    if answer.status != 200:
        raise RuntimeError(f"availability answered {answer.status}: {answer.body[:300]!r}")
    days = answer.json()["days"]
    if not days or not days[0]["bookable"]:
        raise RuntimeError(f"{day} is not bookable at {OFFICE}: {days}")
    return [slot for slot in days[0]["slots"] if slot["bookable"]]


@dataclass
class RushResult:
    run: Run
    booked: dict[str, int] = field(default_factory=dict)  # code -> couple index
    couples: int = 0
    day: str = ""
    seats: int = 0  # the day's free seats when the rush began
    gave_up: int = 0  # couples who found no seat after their tries


def _preferences(starts: list[str], rng: random.Random, tries: int) -> list[str]:
    """A couple's slots in order of preference: mornings are wanted most (吉时)."""
    weights = [3.0 if s < "12:00" else 1.0 for s in starts]
    first = rng.choices(starts, weights)[0]
    rest = [s for s in starts if s != first]
    rng.shuffle(rest)
    return [first, *rest[:tries - 1]]


async def _rush(base_url: str, client_kind: str, day: str, first_index: int, couples: int,
                concurrency: int, tries: int, seed: int, rate: float = 0.0) -> RushResult:
    client = make_client(client_kind, base_url)
    slots = await bookable_slots(client, day)
    starts = [slot["start"] for slot in slots]
    rng = random.Random(seed)
    result = RushResult(Run(), couples=couples, day=day,
                        seats=sum(slot["remaining"] for slot in slots))

    def job(index: int, wanted: list[str]):
        async def attempt(recorder: Recorder) -> None:
            for start in wanted:
                answer = await recorder.send("POST", "/api/v1/appointments",
                                             json_body=booking_body(index, day, start))
                if answer is not None and answer.status == 201:
                    result.booked[answer.json()["code"]] = index
                    return
                if answer is None or answer.code != "slot_full":
                    return
            result.gave_up += 1

        return attempt

    jobs = [job(first_index + i, _preferences(starts, rng, tries)) for i in range(couples)]
    if rate:
        result.run = await open_loop(client, jobs, rate)
    else:
        result.run = await closed_loop(client, jobs, concurrency)
    await client.close()
    return result


def rush(base_url: str, client_kind: str, day: str, first_index: int, couples: int,
         concurrency: int, tries: int = 3, seed: int = 520) -> RushResult:
    """`couples` distinct couples book `day` with `concurrency` clients at once; a couple
    whose slot is full tries up to `tries` slots in all."""
    return asyncio.run(_rush(base_url, client_kind, day, first_index, couples, concurrency,
                             tries, seed))


def open_rush(base_url: str, client_kind: str, day: str, first_index: int, couples: int,
              rate: float, tries: int = 3, seed: int = 521) -> RushResult:
    """`couples` distinct couples arrive at `rate` a second (open loop) and book `day`; a
    couple whose slot is full tries up to `tries` slots in all, each at once."""
    return asyncio.run(_rush(base_url, client_kind, day, first_index, couples, 0, tries,
                             seed, rate))


async def _ceiling(base_url: str, client_kind: str, requests: int, concurrency: int) -> Run:
    client = make_client(client_kind, base_url)

    def job(index: int):
        async def send(recorder: Recorder) -> None:
            await recorder.send("POST", "/api/v1/appointments",
                                json_body=booking_body(index, "2026-05-20", "09:00"))

        return send

    run = await closed_loop(client, [job(i) for i in range(requests)], concurrency)
    await client.close()
    return run


def ceiling(base_url: str, client_kind: str, requests: int, concurrency: int) -> Run:
    return asyncio.run(_ceiling(base_url, client_kind, requests, concurrency))


# --- reads -------------------------------------------------------------------------------------

async def _reads(base_url: str, client_kind: str, path: str, params: dict, count: int,
                 concurrency: int) -> Run:
    client = make_client(client_kind, base_url)

    async def send(recorder: Recorder) -> None:
        await recorder.send("GET", path, params=params)

    run = await closed_loop(client, [send] * count, concurrency)
    await client.close()
    return run


def reads(base_url: str, client_kind: str, path: str, params: dict, count: int,
          concurrency: int = 1) -> Run:
    return asyncio.run(_reads(base_url, client_kind, path, params, count, concurrency))


# --- the hall ----------------------------------------------------------------------------------

@dataclass
class HallResult:
    checkin: Run
    calls: Run
    called_ids: list[int]
    display_latency_s: list[float]
    calls_paced: int
    calls_seen: int
    screen_polls: Run


async def _check_in(client, token: str, booked: dict[str, int], concurrency: int) -> Run:
    headers = {"Authorization": f"Bearer {token}"}

    def job(code: str, index: int):
        async def send(recorder: Recorder) -> None:
            present = [p["id_number"] for p in couple(index)]
            await recorder.send("POST", f"/api/v1/offices/{OFFICE}/tickets", headers=headers,
                                json_body={"appointment": code, "present": present})

        return send

    return await closed_loop(client, [job(c, i) for c, i in booked.items()], concurrency)


class Screens:
    """Hall screens polling the display every `interval` seconds with If-None-Match, as the
    hall page does; remembers when each (number, window) was first shown."""

    def __init__(self, client, count: int, interval: float):
        self.client = client
        self.count = count
        self.interval = interval
        self.first_seen: dict[tuple[str, str], float] = {}
        self.run = Run()
        self._stop = asyncio.Event()

    async def _screen(self, phase: float) -> None:
        recorder = Recorder(self.client, self.run)
        etag = None
        await asyncio.sleep(phase)
        while not self._stop.is_set():
            started = time.perf_counter()
            headers = {"If-None-Match": etag} if etag else {}
            answer = await recorder.send("GET", f"/api/v1/offices/{OFFICE}/display",
                                         headers=headers)
            now = time.perf_counter()
            if answer is not None and answer.status == 200:
                etag = answer.headers.get("etag")
                for call in answer.json().get("calling", []):
                    self.first_seen.setdefault((call["number"], str(call["window"])), now)
            await asyncio.sleep(max(0.0, self.interval - (now - started)))

    async def __aenter__(self):
        self._tasks = [asyncio.create_task(self._screen(i * self.interval / self.count))
                       for i in range(self.count)]
        self._started = time.perf_counter()
        return self

    async def __aexit__(self, *exc):
        await asyncio.sleep(self.interval * 2)  # the last calls reach the screens
        self._stop.set()
        await asyncio.gather(*self._tasks)
        self.run.wall_seconds = time.perf_counter() - self._started


async def _hall(base_url: str, client_kind: str, tokens: dict, booked: dict[str, int],
                windows: list[str], checkin_concurrency: int, paced_calls_per_window: int,
                pace_seconds: float, screens: int, poll_interval: float) -> HallResult:
    client = make_client(client_kind, base_url)
    checkin = await _check_in(client, tokens["desk"], booked, checkin_concurrency)
    headers = {"Authorization": f"Bearer {tokens['registrar']}"}
    called_ids: list[int] = []
    pressed: list[tuple[str, str, float]] = []  # number, window, when pressed
    calls = Run()
    async with Screens(client, screens, poll_interval) as watching:
        # 1. paced: each window calls every `pace_seconds`, as registrars do on a busy day
        async def paced(window: str, phase: float) -> None:
            recorder = Recorder(client, Run())
            await asyncio.sleep(phase)
            for _ in range(paced_calls_per_window):
                started = time.perf_counter()
                answer = await recorder.send(
                    "POST", f"/api/v1/offices/{OFFICE}/windows/{window}/call-next",
                    headers=headers)
                if answer is not None and answer.status == 200:
                    ticket = answer.json()["ticket"]
                    called_ids.append(ticket["id"])
                    pressed.append((ticket["number"], str(ticket["window"]), started))
                await asyncio.sleep(max(0.0, pace_seconds - (time.perf_counter() - started)))

        await asyncio.gather(*(paced(w, i * pace_seconds / len(windows))
                               for i, w in enumerate(windows)))
    seen = [watching.first_seen[(n, w)] - t for n, w, t in pressed
            if (n, w) in watching.first_seen]

    # 2. flat out: every window calls as fast as it can until nobody waits
    recorder = Recorder(client, calls)

    async def flat_out(window: str) -> None:
        while True:
            answer = await recorder.send(
                "POST", f"/api/v1/offices/{OFFICE}/windows/{window}/call-next", headers=headers)
            if answer is None or answer.status != 200:
                return
            called_ids.append(answer.json()["ticket"]["id"])

    started = time.perf_counter()
    await asyncio.gather(*(flat_out(w) for w in windows))
    calls.wall_seconds = time.perf_counter() - started
    calls.concurrency = len(windows)
    await client.close()
    return HallResult(checkin, calls, called_ids, seen, len(pressed), len(seen),
                      watching.run)


def hall(base_url: str, client_kind: str, tokens: dict, booked: dict[str, int],
         windows: list[str], checkin_concurrency: int = 4, paced_calls_per_window: int = 6,
         pace_seconds: float = 2.0, screens: int = 4, poll_interval: float = 0.5
         ) -> HallResult:
    return asyncio.run(_hall(base_url, client_kind, tokens, booked, windows,
                             checkin_concurrency, paced_calls_per_window, pace_seconds,
                             screens, poll_interval))


# --- staff pages -------------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def staff_session(base_url: str, username: str, password: str):
    """A logged-in staff session (requests.Session) through the login form."""
    import requests

    session = requests.Session()
    page = session.get(f"{base_url}/staff/login", timeout=30)
    match = CSRF_RE.search(page.text)
    form = {"username": username, "password": password}
    if match:
        form["csrf_token"] = match.group(1) or match.group(2)
    answer = session.post(f"{base_url}/staff/login", data=form, timeout=30,
                          allow_redirects=False)
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"staff login answered {answer.status_code}")
    return session


def timed_gets(session, url: str, count: int, headers: dict | None = None) -> dict:
    seconds = []
    statuses = set()
    for _ in range(count):
        started = time.perf_counter()
        answer = session.get(url, headers=headers or {}, timeout=300)
        seconds.append(time.perf_counter() - started)
        statuses.add(answer.status_code)
    return {"statuses": sorted(statuses), **percentiles(seconds)}


def answer_summary(answer: Answer | None) -> str:
    if answer is None:
        return "no answer"
    return f"{answer.status} {answer.body[:200]!r}"
