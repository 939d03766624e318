"""Training: pretrain (WSD) -> anneal -> SFT stage 1 -> SFT stage 2, launched by `opencoder train`.

Modules: schedules (LR schedules as pure functions of the step), optimizer (AdamW + clipping,
weight-decay mask), step (the pure jitted train step, gradient accumulation), checkpoint
(Orbax: params, optimizer, Grain iterator, step; preemption), metrics (FLOPs/MFU, metrics.jsonl,
TensorBoard, loss curve), inputs (data and tokenizer of a run), loop (the run), main (the CLI).
Imports are per module (importing the package pulls in nothing heavy).
"""
