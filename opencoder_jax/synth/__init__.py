"""Synthetic data for annealing and SFT (`opencoder synth ...`; docs/synthetic_data.md).

Teacher-written generators, every sample validated in the sandbox and decontaminated:
`algorithmic` (keyword selection of the corpus, no teacher), `snippets` (annealing),
`educational` and `package_instruct` (SFT stage 2); `runner` is their shared resumable loop,
`teacher` the endpoint/local model they ask. `sft_extract`: documented Python functions ->
chats, deterministic, no teacher.
"""
