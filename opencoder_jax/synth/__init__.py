"""Deterministic synthetic data built from the corpus itself (no teacher model).

`sft_extract`: documented Python functions -> instruction/answer chats for a small SFT set.
"""
