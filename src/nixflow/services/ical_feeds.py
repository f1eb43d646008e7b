"""Fetching a business-hours calendar's iCal feed when the calendar is saved (never inside the arithmetic).

The same guard as webhooks: http(s) only, public addresses unless `NIXFLOW_WEBHOOK_ALLOW_PRIVATE`, the request
goes to the address that was checked, no redirects, a size and time limit. A feed that cannot be fetched is a
422 naming why: the calendar is not saved.
"""

from __future__ import annotations

import asyncio

import httpx

from nixflow.domain.errors import ValidationFailed
from nixflow.outbound import targets

TIMEOUT = 10.0
MAX_BYTES = 2_000_000


def _refused(msg: str) -> ValidationFailed:
    return ValidationFailed(
        f"ical_url: {msg}", errors=[{"loc": ["body", "ical_url"], "msg": msg, "type": "value_error"}]
    )


async def fetch(url: str, *, allow_private: bool) -> str:
    """The text of the feed at `url`; a 422 if it is refused, unreachable, not 200 or too large."""
    try:
        target = await targets.check(url, allow_private=allow_private)
    except targets.Refused as exc:
        raise _refused(str(exc)) from None
    headers = {"host": target.host_header()} if target.address is not None else {}
    extensions = {"sni_hostname": target.host} if target.address is not None and url.startswith("https:") else {}
    taken = b""
    try:
        async with (
            asyncio.timeout(TIMEOUT),
            httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=TIMEOUT) as client,
        ):
            request = client.build_request("GET", target.request_url(), headers=headers, extensions=extensions)
            response = await client.send(request, stream=True)
            try:
                if response.status_code != 200:
                    raise _refused(f"the feed answered {response.status_code}")
                async for chunk in response.aiter_bytes():
                    taken += chunk
                    if len(taken) > MAX_BYTES:
                        raise _refused(f"the feed is larger than {MAX_BYTES} bytes")
            finally:
                await response.aclose()
    except TimeoutError:
        raise _refused(f"no answer within {TIMEOUT:g} s") from None
    except httpx.HTTPError as exc:
        raise _refused(f"cannot fetch the feed: {type(exc).__name__}: {exc}") from None
    return taken.decode("utf-8", errors="replace")
