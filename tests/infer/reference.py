"""transformers reference generation for the parity tests."""
from __future__ import annotations


def hf_greedy(hf_model, prompt_ids, max_new_tokens, eos_id=632):
    """transformers' generate(do_sample=False) for one unpadded prompt -> (new ids, scores)."""
    import torch

    with torch.no_grad():
        out = hf_model.generate(torch.tensor([prompt_ids]), attention_mask=torch.ones(1, len(prompt_ids), dtype=torch.long),
                                do_sample=False, max_new_tokens=max_new_tokens, eos_token_id=eos_id, pad_token_id=0,
                                output_scores=True, return_dict_in_generate=True)
    new = out.sequences[0, len(prompt_ids):].tolist()
    scores = [s[0].numpy() for s in out.scores]
    return new, scores


def assert_greedy_parity(ours: list[int], ref: list[int], ref_scores, eos_id=632, tol=1e-4):
    """Token-identical, except that a divergence is allowed where transformers' top two logits
    are within float noise (then the rest cannot be compared)."""
    import numpy as np

    ref_trim = ref[:-1] if ref and ref[-1] == eos_id else ref
    n = min(len(ours), len(ref_trim))
    for i in range(n):
        if ours[i] != ref_trim[i]:
            top2 = np.sort(ref_scores[i])[-2:]
            assert top2[1] - top2[0] < tol, f"diverged at {i}: ours {ours[i]} vs {ref_trim[i]} (gap {top2[1]-top2[0]})"
            return
    assert ours == ref_trim, (ours, ref)
