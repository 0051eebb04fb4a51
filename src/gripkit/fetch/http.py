"""The HTTP client of ``gripkit fetch``: one httpx client, one rate limiter, backoff on 429/503.

Every request goes through :meth:`Client.request`: it waits for the shared
:class:`~gripkit.fetch.ratelimit.RateLimiter`, and on HTTP 429 (or 503 where the caller allows it)
waits the ``Retry-After`` seconds the server sent (else 1, 2, 4 ... s) and tries again. A server
that cannot be reached is a :class:`FetchError` naming the URL and the ways round it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from typing import Any

import httpx

from gripkit.errors import GripkitError
from gripkit.fetch.ratelimit import RateLimiter

log = logging.getLogger("gripkit")
DEFAULT_BASE_URL = "https://data.police.uk"


class FetchError(GripkitError):
    """A download failed: unreachable server, refused file, or an answer we cannot use."""


class TooManyResults(FetchError):
    """The API answered 503 to a custom-area query: more than 10,000 crimes in it."""


def _retry_after(response: httpx.Response, attempt: int, backoff: float) -> float:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return backoff * 2**attempt


class Client:
    """Requests to one police.uk server (or a mirror), rate-limited and retried.

    Parameters
    ----------
    base_url
        Scheme and host of the server, e.g. ``https://data.police.uk`` or a mirror.
    proxy
        A proxy URL (``http://host:port``); None uses the environment's ``HTTPS_PROXY`` etc.
    timeout
        Seconds to wait for a connection or a read.
    limiter
        The rate limiter shared by every request (default: 15 in any 1-s window).
    max_retries
        Retries of one request after 429/503 before giving up.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        proxy: str | None = None,
        timeout: float = 60.0,
        limiter: RateLimiter | None = None,
        max_retries: int = 6,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter or RateLimiter()
        self.max_retries = max_retries
        self.backoff = backoff
        self._sleep = sleep
        self.http = httpx.Client(
            base_url=self.base_url, proxy=proxy, timeout=timeout, follow_redirects=True,
            trust_env=proxy is None, headers={"User-Agent": "gripkit-fetch"},
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self, method: str, url: str, *, retry_on: Collection[int] = (429, 503), stream: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request (rate-limited), retrying on the statuses in ``retry_on``.

        With ``stream=True`` the body is not read: the caller iterates and closes the response.
        """
        for attempt in range(self.max_retries + 1):
            self.limiter.acquire()
            try:
                response = self.http.send(self.http.build_request(method, url, **kwargs), stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError) as exc:
                raise FetchError(
                    f"cannot reach {self.base_url}{url} ({exc}); check the network or the proxy, pass "
                    "'base_url' for a mirror, or download the archive by hand from data.police.uk and "
                    "run gripkit ingest on it."
                ) from exc
            if response.status_code not in retry_on or attempt == self.max_retries:
                return response
            delay = _retry_after(response, attempt, self.backoff)
            response.close()
            log.info("fetch: %s %s answered %d; waiting %.1f s", method, url, response.status_code, delay)
            self.limiter.pause(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def get_json(self, url: str, **kwargs: Any) -> Any:
        """GET ``url`` and decode its JSON, or a :class:`FetchError` saying what the server answered."""
        response = self.request("GET", url, **kwargs)
        if response.status_code != 200:
            raise FetchError(f"{self.base_url}{url} answered HTTP {response.status_code}; expected 200.")
        try:
            return response.json()
        except ValueError as exc:
            raise FetchError(f"{self.base_url}{url} did not answer JSON ({exc}).") from exc
