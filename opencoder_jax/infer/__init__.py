"""Generation: the sampler, the text-level engine, the OpenAI-compatible server.

  sampler   `Sampler`: batched KV-cache generation (left padding, power-of-two buckets, a jitted
            prefill and a while_loop decode), greedy / temperature / top-k / top-p, seeds,
            stop tokens and stop strings; pure sampling functions
  engine    `Engine`: text in, `Completion`s out; chat via OpenCoder's ChatML template; a
            thread-safe batcher that runs concurrent requests together
  server    `opencoder serve`: POST /v1/completions, /v1/chat/completions (SSE streaming),
            GET /v1/models, /health (FastAPI + uvicorn)
  generate  `opencoder generate`: prompts or JSONL in, completions JSONL out

Importing this package imports nothing heavy; import the submodules.
"""
