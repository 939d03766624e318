"""Domain discovery and URL annotation (OpenCoder Sec. 2.1.2, after DeepSeekMath).

A domain is a page's host, lower-cased, without port or a leading "www." ("the entire
website with the same base URL" is one domain). After a round recalls pages, a domain is
code-related when more than `domain_share` of its pages were recalled. Inside code-related
domains, URL patterns (human annotations such as "stackoverflow.com/") name the pages that
are code-related whatever the classifier said; they join the next round's seed.

A pattern is `host[/path-prefix]`: it matches a URL whose host is `host` or a sub-domain of
it and whose path starts with the prefix ("stackoverflow.com/questions" matches
https://stackoverflow.com/questions/1/x but not https://stackoverflow.com/users/2).
"""
from __future__ import annotations

from typing import Iterable, Mapping
from urllib.parse import urlsplit


def domain_of(url: str) -> str:
    """The base domain of a URL ("" when it has no host)."""
    try:
        parts = urlsplit(url.strip() if "://" in url else "//" + url.strip())
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return ""
    if any(ch.isspace() for ch in host):
        return ""
    return host[4:] if host.startswith("www.") else host


def _path(url: str) -> str:
    try:
        return urlsplit(url.strip() if "://" in url else "//" + url.strip()).path or "/"
    except ValueError:
        return "/"


class UrlPatterns:
    """Compiled `host[/path-prefix]` annotations."""

    def __init__(self, patterns: Iterable[str]):
        self.patterns = tuple(patterns)
        self._rules: list[tuple[str, str]] = []
        for pattern in self.patterns:
            spec = pattern.strip()
            if "://" in spec:
                spec = spec.split("://", 1)[1]
            host, _, path = spec.partition("/")
            host = host.lower()
            host = host[4:] if host.startswith("www.") else host
            if not host:
                raise ValueError(f"URL pattern {pattern!r} has no host")
            self._rules.append((host, "/" + path))

    def __bool__(self) -> bool:
        return bool(self._rules)

    def matches(self, url: str) -> bool:
        domain = domain_of(url)
        if not domain:
            return False
        path = None
        for host, prefix in self._rules:
            if domain == host or domain.endswith("." + host):
                path = _path(url) if path is None else path
                if path.startswith(prefix):
                    return True
        return False


def is_code_domain(pages: int, recalled: int, share: float, min_pages: int = 1) -> bool:
    """More than `share` of the domain's pages recalled (and at least `min_pages` pages)."""
    return pages >= min_pages and recalled > share * pages


def discover_domains(counts: Mapping[str, tuple[int, int]], share: float, min_pages: int = 1) -> dict[str, dict]:
    """{domain: (pages, recalled)} -> the code-related ones with their share, largest first."""
    marked = {d: {"pages": p, "recalled": r, "share": r / p}
              for d, (p, r) in counts.items() if d and is_code_domain(p, r, share, min_pages)}
    return dict(sorted(marked.items(), key=lambda kv: (-kv[1]["recalled"], kv[0])))
