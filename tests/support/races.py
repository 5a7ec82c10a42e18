"""Racing real HTTP requests: fire a list of calls at the same instant and count the
answers by status or problem code."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests


def fire(calls: list) -> list:
    """Run every call at once (all threads released together); each call's result or the
    requests exception it raised."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            return call()
        except requests.RequestException as error:
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def codes(responses) -> Counter:
    """201/200/204 as numbers, errors by their problem code, exceptions by their name."""
    out = Counter()
    for response in responses:
        if isinstance(response, Exception):
            out[type(response).__name__] += 1
        elif response.status_code < 300:
            out[response.status_code] += 1
        else:
            try:
                out[response.json()["code"]] += 1
            except ValueError:
                out[f"HTTP {response.status_code}"] += 1
    return out


def post(url: str, body: dict | None = None, headers: dict | None = None, timeout: float = 60):
    """A call for fire(): POST `body` as JSON."""
    return lambda: requests.post(url, json=body if body is not None else {}, headers=headers,
                                 timeout=timeout)
