"""Code-related web recall (OpenCoder Sec. 2.1.2, after DeepSeekMath): the per-page logic.

  config      `RecallConfig` (gin): fastText hyper-parameters, threshold, rounds, domain share,
              URL annotations
  segment     `Segmenter`: our BPE tokenizer's pieces as fastText words, one line per text
  classifier  fastText training / P(code) / precision-recall (`fasttext-numpy2-wheel`)
  pages       input-record validation, page ids, recalled page -> document (source "web")
  domains     domain of a URL, code-domain discovery, URL patterns
  seeds       seed files, held-out split, negatives from the random pool
  report      report.html with a plot per round

The Beam graph is beam_pipelines/web_recall.py; `opencoder data recall` drives the rounds.
"""
