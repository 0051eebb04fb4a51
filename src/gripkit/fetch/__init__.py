"""Download police.uk files: bulk archives (resumable, verified) and the API for the newest months.

:func:`~gripkit.fetch.job.fetch` writes the police.uk layout, so ``gripkit ingest`` treats fetched and
hand-downloaded files alike. See ``docs/fetch.md``.
"""

from gripkit.fetch.http import DEFAULT_BASE_URL, Client, FetchError
from gripkit.fetch.job import FetchResult, fetch
from gripkit.fetch.ratelimit import RateLimiter

__all__ = ["DEFAULT_BASE_URL", "Client", "FetchError", "FetchResult", "RateLimiter", "fetch"]
