"""The YCLIENTS client's HTTP transport: urllib3 connection pools, with the environment read once.

Why not requests: per call, requests builds a PreparedRequest, merges session settings, runs hooks and
wraps urllib3's answer in its own Response, which cost about as much CPU as the call itself (an install
check's two GETs: 3.7 ms through requests, 1.9 ms through urllib3 on the same pool, measured in
docs/performance/redirect.md). The transport keeps the one thing of requests' we rely on, read once at
construction: the proxy (HTTP(S)_PROXY / ALL_PROXY, honouring NO_PROXY) and CA bundle
(REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, else certifi's) settings of the environment. A ~/.netrc is never
read: every call carries its own Authorization header.

`request()` has requests' shape (method, url, params, json, headers, timeout, allow_redirects) and
returns an `Answer` with the parts of a requests Response the client reads, so the client's tests can
hand it a fake with the same shape.
"""
from __future__ import annotations

import json as jsonlib
import os
from urllib.parse import urlencode, urlsplit

import certifi
import urllib3
from requests.utils import get_encoding_from_headers, get_environ_proxies

POOL_SIZE = 16  # kept-alive connections per host: a worker's threads plus a sync's page prefetch
MAX_REDIRECTS = 5
# As requests sends by default: YCLIENTS may compress a large page (urllib3 decodes it).
DEFAULT_HEADERS = {"Accept-Encoding": "gzip, deflate", "Connection": "keep-alive"}
NETWORK_ERRORS = (urllib3.exceptions.HTTPError, OSError)
# Redirects followed (up to MAX_REDIRECTS), nothing retried: the client decides retries. One object for every call
# (urllib3 never changes a Retry: following a redirect makes a new one).
FOLLOW_REDIRECTS = urllib3.Retry(total=MAX_REDIRECTS, connect=0, read=0, status=0, other=0, redirect=MAX_REDIRECTS,
                                 raise_on_redirect=True)


class Answer:
    """What the client reads of an HTTP answer, named as on a requests Response."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers, content: bytes):
        self.status_code = status_code
        self.headers = headers  # case-insensitive (urllib3's HTTPHeaderDict)
        self.content = content

    @property
    def encoding(self) -> str | None:
        """The charset the headers give; `application/json` without one is UTF-8 (as requests says)."""
        return get_encoding_from_headers(self.headers)

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding or "utf-8", errors="replace")

    def json(self):
        return jsonlib.loads(self.text)


def query_string(params) -> str:
    """requests' encoding of `params`: a dict or pairs, None values left out, a list value repeated."""
    items = params.items() if hasattr(params, "items") else params
    return urlencode([(key, value) for key, value in items if value is not None], doseq=True)


class Transport:
    def __init__(self, base_url: str, *, pool_size: int = POOL_SIZE, environ=os.environ):
        scheme = urlsplit(base_url).scheme or "https"
        proxies = get_environ_proxies(base_url)  # {} when NO_PROXY covers the host
        self.proxy = proxies.get(scheme) or proxies.get("all") or None
        self.ca_bundle = environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or certifi.where()
        options = {"num_pools": 4, "maxsize": pool_size, "block": False, "cert_reqs": "CERT_REQUIRED",
                   "ca_certs": self.ca_bundle}
        self.pools = urllib3.ProxyManager(self.proxy, **options) if self.proxy else urllib3.PoolManager(**options)

    def request(self, method: str, url: str, *, params=None, json=None, headers=None, timeout: float | None = None,
                allow_redirects: bool = True) -> Answer:
        """One HTTP exchange, no retries (the client decides those). Raises urllib3's errors or OSError when
        the network fails (NETWORK_ERRORS)."""
        if params:
            url += ("&" if "?" in url else "?") + query_string(params)
        body = None if json is None else jsonlib.dumps(json, allow_nan=False).encode()
        response = self.pools.request(method, url, body=body, headers={**DEFAULT_HEADERS, **(headers or {})},
                                      timeout=urllib3.Timeout(connect=timeout, read=timeout),
                                      retries=FOLLOW_REDIRECTS if allow_redirects else False,
                                      redirect=allow_redirects)
        return Answer(response.status, response.headers, response.data)
