"""PII reduction: replace emails, IP addresses, secrets and (reliably detectable) names.

OpenCoder (arXiv 2411.04905, sec. 2.1.1) rewrites personally identifiable information in
code with placeholders ("<name>", "<password>", ...). The regexes here follow the regex
approach of BigCode's StarCoder PII pipeline (emails and IPs adapted from BigScience, keys
by known token shapes) with its false-positive filters, and add assignment-context secrets.

Kinds, each its own transform (name -> placeholder):
  pii_key         private-key PEM blocks, known token shapes (AWS AKIA..., GitHub ghp_/
                  github_pat_, Slack xox?-, Google AIza..., Stripe sk_live_..., JWTs), and
                  secret-looking literals assigned to *key / *token / *secret names -> <key>
  pii_password    literals assigned to *password / *passwd / *pwd / *passphrase -> <password>
  pii_email       user@domain.tld -> <email>
  pii_ip_address  IPv4 / IPv6 -> <ip_address>
  pii_name        "Author: First Last", "@author First Last", __author__ = "First Last" -> <name>

False-positive guards (each has a test):
  emails   reserved example domains (example.com/.org/.net, *.example, *.test, *.invalid,
           *.localhost, localhost), no-reply style local parts (noreply, no-reply,
           donotreply, users.noreply.github.com), `git@` SSH remotes, retina asset names
           (icon@2x.png) and file-extension "TLDs".
  IPs      kept (not replaced) when not globally routable: private, loopback, link-local,
           documentation (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32),
           shared, reserved, unspecified, multicast -- they identify no one; also the
           popular public DNS resolvers (8.8.8.8, 1.1.1.1, ...), as BigCode does. Version
           numbers are not IPs: a dotted quad glued to a letter or dot (v1.2.3.4, 1.2.3.4.5),
           in a version context on its line (version, ver, release, __version__, ...), right
           after a version specifier (==, !=, >=, <=, ~=, ===, ^, ~, ~>, and < / > after a
           requirement name or in a specifier list: `pkg!=12.5.3.2`, `x<13.0,>=12.5.3.2`;
           not when the left side names a host, `if ip != ...`), or
           of four single digits without a network word nearby (BigCode's filter). IPv6
           needs >= 3 groups and a digit, so `x[1::2]`, `std::vector`, `12:30:45` and MAC
           addresses stay.
  secrets  the value must be a literal; template / placeholder values (`{x}`, `%s`, `${X}`,
           `<...>`, `***`, YOUR_API_KEY, changeme, empty) and sentences (with spaces) stay; *token/*secret/*key
           values must also look random (>= 8 chars, Shannon entropy >= 3 bits/char), so a
           lexer's `token = "IDENT"` stays.
Every pattern is anchored by a look-behind that fails inside a run of its own characters
and uses bounded repetition, so the scan is linear even on 1 MB runs of one character.
"""
from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from typing import Callable

# ----------------------------------------------------------------------------- emails

_EMAIL = re.compile(
    r"(?<![\w.%+\-@:/])"  # not inside a URL's user:password@host (that is not an email)
    r"([A-Za-z0-9][A-Za-z0-9._%+\-]{0,63})"
    r"@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24})"
    r"(?![\w\-@]|\.[A-Za-z0-9])"
)
_RESERVED_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "localhost")
_RESERVED_EMAIL_TLDS = ("example", "test", "invalid", "localhost", "local")
_NOREPLY = re.compile(r"no[-_.]?reply|do[-_.]?not[-_.]?reply", re.IGNORECASE)
_FILE_EXTENSIONS = frozenset(
    "png jpg jpeg gif svg webp ico bmp tif tiff js mjs ts css scss py rb go rs java c h cpp hpp "
    "json yaml yml xml html md txt lock".split())
_SSH_USERS = frozenset({"git", "hg", "svn"})


def _email_is_guarded(local: str, domain: str) -> bool:
    domain_l = domain.lower()
    tld = domain_l.rsplit(".", 1)[-1]
    if domain_l in _RESERVED_EMAIL_DOMAINS or any(domain_l.endswith("." + d) for d in _RESERVED_EMAIL_DOMAINS):
        return True
    if tld in _RESERVED_EMAIL_TLDS or tld in _FILE_EXTENSIONS:
        return True
    if _NOREPLY.search(local) or domain_l.endswith("noreply.github.com"):
        return True
    if local.lower() in _SSH_USERS:
        return True
    return bool(re.match(r"\d+(?:\.\d+)?x\.", domain_l))  # icon@2x.png, img@1.5x.webp


def redact_emails(text: str, placeholder: str = "<email>") -> tuple[str, int]:
    if "@" not in text:
        return text, 0
    count = 0

    def sub(m: re.Match) -> str:
        nonlocal count
        if _email_is_guarded(m.group(1), m.group(2)):
            return m.group(0)
        count += 1
        return placeholder

    return _EMAIL.sub(sub, text), count


# ----------------------------------------------------------------------------- IP addresses

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)")
# Cheap one-pass pre-checks: most files hold no dotted quad / no hex:hex:hex run at all.
_IPV4_HINT = re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d")
_IPV6_HINT = re.compile(r"[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:?[0-9A-Fa-f]")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:.])[0-9A-Fa-f:]{2,39}(?:%[0-9A-Za-z]{1,15})?(?![\w:])")
_VERSION_CONTEXT = re.compile(
    r"version|\bver\b|\brelease|\brev\b|revision|\bbuild\b|__version__|\bv$|@$|==\s*$|>=\s*$|<=\s*$|~=\s*$",
    re.IGNORECASE)
# A version specifier right before the number (PEP 440 `!=`, `===`, `<`, `>`; npm/cargo `^`, `~`;
# RubyGems `~>`), with only spaces between: `typing_extensions!=4.16.0.1`, `pkg (!=12.5.3.2)`,
# `pkg<12.5.3.2`, `>=1.0,<12.5.3.2`. A bare `<`/`>` counts only after a requirement name or a
# version (a clause of a specifier list), so HTML's `<td>93.184.216.34` is not a version.
_VERSION_OPERATOR = re.compile(
    r"(?:===|!=|\^|~>?)\s*$"
    r"|(?:^|[\s,;(\[\"'])[A-Za-z][A-Za-z0-9._-]*(?:\[[\w,\s-]*\])?\s*[<>]\s*$"
    r"|\d[\w.*+!-]*\s*,\s*[<>]\s*$")
# ... unless the left side names a host (`if ip != 93.184.216.34`): then it is an address.
_HOST_WORD = re.compile(r"\b(?:ip|ips|ipv4|host|hostname|addr|address|server|remote|peer|gateway)\b", re.IGNORECASE)
_NETWORK_CONTEXT = re.compile(r"\bip\b|ipv4|address|\baddr|host|server|\bdns\b|gateway|subnet|netmask|"
                              r"proxy|connect|socket|\burl\b|http", re.IGNORECASE)
POPULAR_DNS_SERVERS = frozenset({
    "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112",
    "208.67.222.222", "208.67.220.220", "76.76.19.19", "76.223.122.150", "8.26.56.26",
    "8.20.247.20", "94.140.14.14", "94.140.15.15",
    "2001:4860:4860::8888", "2001:4860:4860::8844", "2606:4700:4700::1111", "2606:4700:4700::1001",
})


def _line_context(text: str, start: int, end: int, width: int = 40) -> tuple[str, str]:
    """Text before / after the match on the same line, at most `width` characters each."""
    lo = max(0, start - width)
    before = text[lo:start]
    nl = before.rfind("\n")
    if nl >= 0:
        before = before[nl + 1:]
    after = text[end:end + width].split("\n", 1)[0]
    return before, after


def _ip_is_kept(addr: ipaddress._BaseAddress, literal: str) -> bool:
    return (not addr.is_global) or addr.is_multicast or literal.lower() in POPULAR_DNS_SERVERS


def _ipv4_is_version(text: str, start: int, end: int, literal: str) -> bool:
    before, after = _line_context(text, start, end)
    if _VERSION_CONTEXT.search(before.rstrip(" \t\"'=:(")) or _VERSION_CONTEXT.search(before):
        return True
    if _VERSION_OPERATOR.search(before) and not _HOST_WORD.search(before):
        return True
    if all(len(part) == 1 for part in literal.split(".")):  # 1.2.3.4 style (BigCode filter)
        return not _NETWORK_CONTEXT.search(before + " " + after)
    return False


def redact_ip_addresses(text: str, placeholder: str = "<ip_address>") -> tuple[str, int]:
    count = 0

    def sub_v4(m: re.Match) -> str:
        nonlocal count
        literal = m.group(0)
        addr = ipaddress.IPv4Address(literal)
        if _ip_is_kept(addr, literal) or _ipv4_is_version(m.string, m.start(), m.end(), literal):
            return literal
        count += 1
        return placeholder

    def sub_v6(m: re.Match) -> str:
        nonlocal count
        literal = m.group(0)
        bare = literal.split("%", 1)[0]
        groups = [g for g in bare.split(":") if g]
        if len(groups) < 3 or not any(c.isdigit() for c in bare):
            return literal
        try:
            addr = ipaddress.IPv6Address(bare)
        except ValueError:
            return literal
        if _ip_is_kept(addr, bare):
            return literal
        count += 1
        return placeholder

    if _IPV4_HINT.search(text):
        text = _IPV4.sub(sub_v4, text)
    if _IPV6_HINT.search(text):
        text = _IPV6_CANDIDATE.sub(sub_v6, text)
    return text, count


# ----------------------------------------------------------------------------- secrets

_PEM_BEGIN = re.compile(r"-----BEGIN ((?:[A-Z0-9]{1,16} ){0,3})PRIVATE KEY(?: BLOCK)?-----")
_KNOWN_TOKENS = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{36,251}"  # GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{22,251}"
    r"|xox[abposr]-[A-Za-z0-9\-]{10,250}"  # Slack
    r"|AIza[0-9A-Za-z_\-]{35}"  # Google API key
    r"|[sr]k_(?:live|test)_[0-9A-Za-z]{16,99}"  # Stripe
    r"|eyJ[A-Za-z0-9_\-]{8,2000}\.eyJ[A-Za-z0-9_\-]{8,2000}\.[A-Za-z0-9_\-]{8,2000}"  # JWT
    r")(?![A-Za-z0-9])"
)
_KNOWN_TOKEN_HINT = re.compile(r"A[KSGIRNP][IPDONV]A|gh[pousr]_|github_pat_|xox[abposr]-|AIza|k_live_|k_test_|eyJ")
# name (optionally quoted) then = / : / := / => then a quoted literal on the same line.
_ASSIGNED_LITERAL = re.compile(
    r"(?<![\w.$\-])([\"']?)([A-Za-z_$][\w.$\-]{0,79})\1[ \t]{0,8}(?::=|=>|=(?!=)|:(?!:))[ \t]{0,8}"
    r"[rbuRBU]?([\"'`])([^\"'`\\\r\n]{0,256})\3"
)
# Unquoted values (KEY=value, key: value) only in config-like languages.
_ASSIGNED_BARE = re.compile(
    r"(?m)^[ \t]{0,16}(?:export[ \t]+|ENV[ \t]+)?([A-Za-z_][\w.\-]{0,79})[ \t]{0,8}[=:][ \t]{0,8}"
    r"([^\s\"'#;,]{1,256})[ \t]*$"
)
BARE_VALUE_LANGUAGES = frozenset({"yaml", "ini", "dotenv", "shell", "dockerfile", "toml", "makefile"})
# Pre-checks: without one of these words no assigned name can be a secret of that kind.
_PASSWORD_HINT = re.compile(r"pass|pwd|pw\b|PW\b|PWD|PASS", re.IGNORECASE)
_KEY_HINT = re.compile(r"secret|token|key", re.IGNORECASE)
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "passphrase", "passcode", "pass", "pw"})
_KEY_QUALIFIERS = frozenset({"api", "access", "secret", "private", "auth", "encryption", "signing",
                             "client", "app", "master", "session", "consumer", "license", "crypt"})
# Values that are templates or placeholders, not secrets ("{pw}", "%s", "${X}", "<token>",
# "YOUR_API_KEY", "replace-me", "xxxx", "null", ...).
_TEMPLATE_VALUE = re.compile(
    r"[{}%$<>*]|^x+$|^\.+$|^(?:none|null|nil|undefined|true|false)$"
    r"|your[_\- ]|[_\-]here$|replace[_\-]?me|change[_\-]?me|placeholder|dummy|example|insert[_\- ]|redacted",
    re.IGNORECASE)


def _name_words(name: str) -> list[str]:
    last = re.split(r"[.\->]", name)[-1]
    return [w.lower() for w in _WORDS.findall(last)]


def secret_kind(name: str) -> str | None:
    """'password', 'key' or None for an assigned name (by its last word)."""
    words = _name_words(name)
    if not words:
        return None
    last = words[-1]
    if last in _PASSWORD_WORDS:
        if last in ("pass", "pw") and len(words) == 1:
            return None  # too ambiguous alone
        return "password"
    if last in ("secret", "token", "apikey", "secretkey", "accesskey"):
        return "key"
    if last == "key" and len(words) >= 2 and words[-2] in _KEY_QUALIFIERS:
        return "key"
    return None


def _entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _looks_random(value: str) -> bool:
    """A key-like literal: >= 8 chars, no spaces, >= 3 bits/char, and a digit among letters
    (so identifiers such as "waitForTaskToken" stay) unless it is long and very random."""
    if len(value) < 8 or any(c.isspace() for c in value):
        return False
    entropy = _entropy(value)
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    return entropy >= 3.0 and ((has_digit and has_alpha) or (len(value) >= 24 and entropy >= 4.0))


def _secret_value_ok(kind: str, value: str) -> bool:
    if not value or any(c.isspace() for c in value) or _TEMPLATE_VALUE.search(value):
        return False
    return _looks_random(value) if kind == "key" else len(value) >= 3


def redact_keys(text: str, placeholder: str = "<key>", language: str = "") -> tuple[str, int]:
    """Private-key blocks, known token shapes, and random literals assigned to key names."""
    count = 0
    if "PRIVATE KEY" in text:
        parts, pos = [], 0
        for m in _PEM_BEGIN.finditer(text):
            if m.start() < pos:
                continue
            end_marker = "-----END " + m.group(1) + "PRIVATE KEY"
            end = text.find(end_marker, m.end())
            if end < 0:
                continue
            close = text.find("-----", end + len(end_marker))
            if close < 0:
                continue
            parts += [text[pos:m.start()], placeholder]
            pos = close + 5
            count += 1
        text = "".join(parts) + text[pos:]

    def sub_token(m: re.Match) -> str:
        nonlocal count
        count += 1
        return placeholder

    if _KNOWN_TOKEN_HINT.search(text):
        text = _KNOWN_TOKENS.sub(sub_token, text)
    text, n = _redact_assigned(text, "key", placeholder, language)
    return text, count + n


def redact_passwords(text: str, placeholder: str = "<password>", language: str = "") -> tuple[str, int]:
    return _redact_assigned(text, "password", placeholder, language)


def _redact_assigned(text: str, want: str, placeholder: str, language: str) -> tuple[str, int]:
    count = 0

    def sub_quoted(m: re.Match) -> str:
        nonlocal count
        value = m.group(4)
        if secret_kind(m.group(2)) != want or not _secret_value_ok(want, value):
            return m.group(0)
        count += 1
        return m.group(0)[: m.start(4) - m.start()] + placeholder + m.group(3)

    def sub_bare(m: re.Match) -> str:
        nonlocal count
        value = m.group(2)
        if secret_kind(m.group(1)) != want or not _secret_value_ok(want, value):
            return m.group(0)
        count += 1
        return m.group(0)[: m.start(2) - m.start()] + placeholder + m.group(0)[m.end(2) - m.start():]

    hint = _PASSWORD_HINT if want == "password" else _KEY_HINT
    if not hint.search(text):
        return text, 0
    text = _ASSIGNED_LITERAL.sub(sub_quoted, text)
    if language in BARE_VALUE_LANGUAGES:
        text = _ASSIGNED_BARE.sub(sub_bare, text)
    return text, count


# ----------------------------------------------------------------------------- names

_NAME = r"[A-Z][a-z]{1,20}(?:[-'][A-Z]?[a-z]{1,20})?"
_PARTICLE = r"(?:van|von|de|der|den|del|della|da|di|du|le|la|bin|ibn|al)"
# "First Last", "First M. Last", "Guido van Rossum": capitalised ASCII words only (reliable).
_PERSON = rf"{_NAME}(?:[ \t]{{1,3}}(?:[A-Z]\.[ \t]{{1,3}})?(?:{_PARTICLE}[ \t]{{1,3}}){{0,2}}{_NAME}){{1,2}}"
_PEOPLE = rf"{_PERSON}(?:(?:[ \t]{{0,3}},[ \t]{{0,3}}|[ \t]{{1,3}}(?:and|&)[ \t]{{1,3}}){_PERSON}){{0,8}}"
_PERSON_RE = re.compile(_PERSON)
_NAME_LINE = re.compile(
    rf"(?:(?<![\w@])(?:@author|@maintainer)[ \t]{{1,8}}"
    rf"|(?<![\w])(?:[Aa]uthor|AUTHOR|[Mm]aintainer|MAINTAINER|[Ww]ritten[ \t]by|[Cc]reated[ \t]by)s?"
    rf"[ \t]{{0,4}}[:=]?[ \t]{{0,8}}(?:[\"'][ \t]{{0,4}})?"
    rf"|(?<![\w])__author__[ \t]{{0,4}}=[ \t]{{0,4}}[\"'])"
    rf"({_PEOPLE})(?![\w])"
)
_NAME_HINT = re.compile(r"author|maintainer|written[ \t]by|created[ \t]by", re.IGNORECASE)
_NOT_A_NAME = frozenset({"the", "this", "that", "these", "copyright", "all", "free", "software",
                         "foundation", "inc", "google", "microsoft", "apache", "open", "source",
                         "project", "team", "contributors", "authors", "developers", "unknown",
                         "anonymous", "generated", "auto", "automatically", "see", "your", "name",
                         "first", "last", "todo", "default", "none"})


def redact_names(text: str, placeholder: str = "<name>") -> tuple[str, int]:
    count = 0

    def sub_person(m: re.Match) -> str:
        nonlocal count
        if any(w.lower() in _NOT_A_NAME for w in re.split(r"[ \t.]+", m.group(0))):
            return m.group(0)
        count += 1
        return placeholder

    def sub(m: re.Match) -> str:
        people = _PERSON_RE.sub(sub_person, m.group(1))  # "A B, C D and E F": each one
        return m.group(0)[: m.start(1) - m.start()] + people

    if not _NAME_HINT.search(text):
        return text, 0
    return _NAME_LINE.sub(sub, text), count




def redactors() -> dict[str, Callable[..., tuple[str, int]]]:
    """Transform name -> redactor(text, placeholder, language) -> (text, count), in order.

    Keys and passwords go first so a secret that contains an '@' or an IP-like part is
    replaced whole before the email / IP regexes look at it.
    """
    return {
        "pii_key": lambda t, p, lang: redact_keys(t, p, lang),
        "pii_password": lambda t, p, lang: redact_passwords(t, p, lang),
        "pii_email": lambda t, p, lang: redact_emails(t, p),
        "pii_ip_address": lambda t, p, lang: redact_ip_addresses(t, p),
        "pii_name": lambda t, p, lang: redact_names(t, p),
    }
