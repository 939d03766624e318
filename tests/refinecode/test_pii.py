"""PII reduction: each kind replaced (positive) and each documented guard respected (negative)."""
from __future__ import annotations

import dataclasses

import gin
import pytest

from opencoder_jax.config import GIN_CONFIG_DIR

from opencoder_jax.refinecode.transforms import TransformConfig, apply_transforms, apply_transforms_with_errors
from opencoder_jax.refinecode.transforms import pii
from opencoder_jax.refinecode.transforms.pii import (redact_emails, redact_ip_addresses, redact_keys, redact_names,
                                                     redact_passwords, secret_kind)


# --------------------------------------------------------------------------- emails
@pytest.mark.parametrize("text,expected", [
    ("contact = 'jane.roe@gmail.com'", "contact = '<email>'"),
    ("# Mail me: <a.b-c+tag@mail.uni-bonn.de>.", "# Mail me: <<email>>."),
    ("x@corp.io, y@corp.io", "<email>, <email>"),
])
def test_email_replaced(text, expected):
    assert redact_emails(text)[0] == expected


@pytest.mark.parametrize("text", [
    "user@example.com", "admin@mail.example.org", "a@example.net", "me@host.test", "x@y.invalid",
    "noreply@github.com", "12345+bot@users.noreply.github.com", "no-reply@corp.io", "donotreply@corp.io",
    "git@github.com:org/repo.git", "icon@2x.png", "logo@3x.webp", "@decorator", "npm i @babel/core@7.1.0",
    "user@localhost", "'%s@%s.com' % (u, d)", "http://username:password@host.com:80/path",
])
def test_email_guards(text):
    assert redact_emails(text) == (text, 0)


# --------------------------------------------------------------------------- IPs
@pytest.mark.parametrize("text,expected", [
    ("HOST = '93.184.216.34'", "HOST = '<ip_address>'"),
    ("connect to 151.101.1.69:443 now.", "connect to <ip_address>:443 now."),
    ("server 8.8.4.5", "server <ip_address>"),
    ("addr = '2607:f8b0:4005:80a::200e'", "addr = '<ip_address>'"),
    ("v6 2a03:2880:f12f:83:face:b00c:0:25de", "v6 <ip_address>"),
    ("ip = 1.2.3.4  # ip of the host", "ip = <ip_address>  # ip of the host"),  # single digits + network word
])
def test_ip_replaced(text, expected):
    assert redact_ip_addresses(text)[0] == expected


@pytest.mark.parametrize("text", [
    "192.168.1.1", "10.0.0.7", "172.16.5.4", "127.0.0.1", "0.0.0.0", "169.254.1.1",  # private / loopback / link-local
    "192.0.2.55", "198.51.100.7", "203.0.113.9",  # documentation ranges
    "8.8.8.8", "1.1.1.1", "9.9.9.9",  # public DNS resolvers
    "224.0.0.251",  # multicast
    "__version__ = '2.11.3.4'", "version: 51.12.3.2", "requests==23.1.22.4", "pkg@100.2.3.4", "v100.2.3.4",
    "1.2.3.4", "oid 1.3.6.1.4.1.311", "999.1.1.1", "::1", "fe80::1", "2001:db8::5:6",
    "a[1::2]", "x[::3]", "std::vector<int>", "12:30:45", "00:1a:2b:3c:4d:5e", "Foo::Bar::Baz",
])
def test_ip_guards(text):
    assert redact_ip_addresses(text) == (text, 0)


# --------------------------------------------------------------------------- passwords
@pytest.mark.parametrize("text,expected", [
    ('password = "hunter22"', 'password = "<password>"'),
    ("DB_PASSWORD='s3cr3t!'", "DB_PASSWORD='<password>'"),
    ('{"password": "p4ss"}', '{"password": "<password>"}'),
    ("userPwd := `qwerty123`", "userPwd := `<password>`"),
    ('self.admin_passwd = "letmein"', 'self.admin_passwd = "<password>"'),
])
def test_password_replaced(text, expected):
    assert redact_passwords(text)[0] == expected


@pytest.mark.parametrize("text", [
    'password = ""', 'password = "Enter your password"', 'pwd = "{password}"', 'password = "%s"',
    'password = "${DB_PASS}"', 'password = os.environ["PASSWORD"]', 'if password == "abc":',
    'password_label = "abcdef"', 'password: "<changeme>"', 'password = "***"', 'password = None',
    'passenger = "bob123"', 'bypass = "abcdef"',
])
def test_password_guards(text):
    assert redact_passwords(text) == (text, 0)


def test_bare_values_only_in_config_languages():
    assert redact_passwords("DB_PASSWORD=hunter22\n", language="dotenv")[0] == "DB_PASSWORD=<password>\n"
    assert redact_passwords("  password: hunter22\n", language="yaml")[0] == "  password: <password>\n"
    # TypeScript type annotations are not secrets
    assert redact_passwords("  password: string\n", language="typescript")[1] == 0


# --------------------------------------------------------------------------- keys
@pytest.mark.parametrize("text,expected", [
    ('aws_id = "AKIAIOSFODNN7EXAMPLE"', 'aws_id = "<key>"'),
    ("GH=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB", "GH=<key>"),
    ("slack: xoxb-1234567890-abcdefghij", "slack: <key>"),
    ("k = 'AIzaSyA-1234567890abcdefghijklmnopqrstu'", "k = '<key>'"),
    ("stripe = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'", "stripe = '<key>'"),
    ('api_key = "a8f5f167f44f4964e6c998dee827110c"', 'api_key = "<key>"'),
    ("SECRET_KEY = 'django-insecure-9x#f2!k0q'", "SECRET_KEY = '<key>'"),
    ('authToken: "Zx81Kq0Lm2Pa77Rt"', 'authToken: "<key>"'),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAIBAAK==\n-----END RSA PRIVATE KEY-----\nrest",
     "<key>\nrest"),
    ("jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'",
     "jwt = '<key>'"),
])
def test_key_replaced(text, expected):
    assert redact_keys(text)[0] == expected


@pytest.mark.parametrize("text", [
    'token = "IDENT"', 'token = "("', 'key = "a8f5f167f44f4964e6c998dee827110c"',  # bare `key` is a dict key
    'token_type = "bearer"', 'secret = "aaaaaaaaaaaa"', 'api_key = "YOUR_API_KEY"',
    "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", "AKIA1234",  # too short for AWS
    "notghp_0123456789abcdefghijklmnopqrstuvwxyzAB", 'WaitForTaskToken = "waitForTaskToken"',
])
def test_key_guards(text):
    assert redact_keys(text) == (text, 0)


@pytest.mark.parametrize("name,kind", [
    ("password", "password"), ("dbPassword", "password"), ("DB_PASS", "password"), ("pass", None),
    ("api_key", "key"), ("apiKey", "key"), ("APIKey", "key"), ("SECRET_KEY", "key"), ("secretKey", "key"),
    ("access_token", "key"), ("token", "key"), ("key", None), ("monkey", None), ("password_field", None),
])
def test_secret_kind(name, kind):
    assert secret_kind(name) == kind


# --------------------------------------------------------------------------- names
@pytest.mark.parametrize("text,expected", [
    ("# Author: Jane Roe", "# Author: <name>"),
    (" * @author Hans-Peter Müller", " * @author Hans-Peter Müller"),  # non-ASCII name: not reliably detectable
    (" * @author Hans-Peter Mueller", " * @author <name>"),
    ('__author__ = "Guido van Rossum"', '__author__ = "<name>"'),
    ("Written by Alan M. Turing <alan@bletchley.uk>", "Written by <name> <alan@bletchley.uk>"),
    ('__author__ = "Ada Lovelace"', '__author__ = "<name>"'),
    ('__author__ = "Sybren Stuvel, Barry Mead and Yesudeep Mangalapilly"', '__author__ = "<name>, <name> and <name>"'),
])
def test_names(text, expected):
    assert redact_names(text)[0] == expected


@pytest.mark.parametrize("text", [
    "# Author: The Go Authors", "# Authors: see AUTHORS file", "author = get_author()", "Created by Google",
    "@author unknown", "# author: Your Name", "authored Foo Bar",
])
def test_name_guards(text):
    assert redact_names(text) == (text, 0)


# --------------------------------------------------------------------------- the transform as a whole
def test_apply_records_fired_and_never_mutates_input():
    doc = {"id": "1", "language": "python", "meta": {"x": 1},
           "text": "# Copyright 2020 A B\n\nemail = 'a.b@corp.io'\nhost = '93.184.216.34'\n"}
    new, fired = apply_transforms(doc)
    assert new["text"] == "email = '<email>'\nhost = '<ip_address>'\n"
    assert fired == ["copyright", "pii_email", "pii_ip_address"]
    assert new["meta"] == {"x": 1, "transforms": fired}
    assert doc["meta"] == {"x": 1} and doc["text"].startswith("# Copyright")


def test_unchanged_doc_is_returned_as_is():
    doc = {"id": "1", "language": "python", "text": "x = 1\n", "meta": {}}
    new, fired = apply_transforms(doc)
    assert new is doc and fired == []


def test_disabled_transforms_and_custom_placeholders():
    doc = {"language": "c", "text": "// Copyright 2020 X\nchar *m = \"a.b@corp.io\";\n"}
    new, fired = apply_transforms(doc, TransformConfig(remove_copyright=False, email_placeholder="[EMAIL]"))
    assert new["text"] == "// Copyright 2020 X\nchar *m = \"[EMAIL]\";\n" and fired == ["pii_email"]


def test_a_raising_transform_is_isolated(monkeypatch):
    def boom(*_a, **_k):
        raise RecursionError("pathological")
    monkeypatch.setattr(pii, "redact_emails", boom)
    doc = {"language": "python", "text": "# Copyright 2020 X\nhost = '93.184.216.34'  # a@corp.io\n"}
    result = apply_transforms_with_errors(doc)
    assert result.errors == [("pii_email", "RecursionError: pathological")]
    assert result.doc["text"] == "host = '<ip_address>'  # a@corp.io\n"
    assert result.fired == ["copyright", "pii_ip_address"]


ADVERSARIAL_UNITS = ["a", "1", ".", ":", "@", "=", '"', "-", "_", "1.", "a@", "a.", "a:", "f:1::", "pass",
                     'password="', "eyJ", "AKIA", "Author: Ab ", "Author: Ab Cd, ", "1.1.1.1.", "a.b@", "api_key = 'x'\n", "\n", " "]


@pytest.mark.parametrize("unit", ADVERSARIAL_UNITS)
def test_linear_on_one_megabyte_runs(unit):
    text = unit * (1_000_000 // len(unit))
    for fn in (redact_emails, redact_ip_addresses, redact_names):
        out, _ = fn(text)  # must finish: a quadratic regex would take hours on 1 MB
    for fn in (redact_keys, redact_passwords):
        out, _ = fn(text, language="yaml")
    assert isinstance(out, str)


def test_gin_file_lists_every_default():
    gin.clear_config()
    try:
        gin.parse_config_file(str(GIN_CONFIG_DIR / "refinecode" / "transform.gin"))
        bound = gin.config_str()
        for field in dataclasses.fields(TransformConfig):
            assert f"TransformConfig.{field.name} =" in bound, field.name
        defaults = {f.name: f.default for f in dataclasses.fields(TransformConfig)}
        assert dataclasses.asdict(TransformConfig()) == defaults
    finally:
        gin.clear_config()
