"""OpenCoder's special tokens and where they sit in the vocabulary.

Facts from the released checkpoints (infly/OpenCoder-*): vocabulary 96,640 ids, bos id
96540, eos id 96539, no bos/eos added automatically, ChatML turns (`<|im_start|>`,
`<|im_end|>`; the SFT recipe ends every response with "\n<|im_end|>"). The released
tokenizer is INF-34B's SentencePiece model with the special tokens added after its own
pieces, so they occupy a block near the end of the vocabulary: 96640 - 96539 = 101 slots.
We keep that layout for every vocabulary size: the last `num_special_slots` ids hold

  V - S + 0   <|im_end|>       eos (end of a document; end of a ChatML turn)
  V - S + 1   <|im_start|>     bos (start of a ChatML turn)
  V - S + 2.. fill-in-the-middle tokens (reserved: the paper trains no FIM objective)
  ...         <|reserved_special_token_k|> up to V - 1

so a full-size vocabulary (V = 96640, S = 101) has eos 96539 and bos 96540 as released.
Which strings the released ids carry is inferred (the ChatML template and the SFT recipe's
EOT token); the ids are the released facts.

Ids 0 and 1 are `<pad>` (seqio's PAD_ID is 0) and `<unk>`. All these are CONTROL pieces:
plain text never turns into them (a source file that mentions "<|im_end|>" stays text);
they enter a sequence by id, or through `Vocabulary.encode_with_special_tokens`, which
splits them out of a string the way Hugging Face tokenizers do.
"""
from __future__ import annotations

import dataclasses

PAD = "<pad>"
UNK = "<unk>"
IM_END = "<|im_end|>"
IM_START = "<|im_start|>"
EOS = IM_END
BOS = IM_START
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
FIM_PAD = "<|fim_pad|>"
FIM_TOKENS = (FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD)
NAMED_TAIL_TOKENS = (EOS, BOS, *FIM_TOKENS)

PAD_ID = 0
UNK_ID = 1

RELEASED_VOCAB_SIZE = 96640
RELEASED_EOS_ID = 96539
RELEASED_BOS_ID = 96540
RELEASED_SPECIAL_SLOTS = RELEASED_VOCAB_SIZE - RELEASED_EOS_ID  # 101

DEFAULT_SYSTEM_PROMPT = "You are OpenCoder, created by OpenCoder Team."


def reserved_token(k: int) -> str:
    return f"<|reserved_special_token_{k}|>"


@dataclasses.dataclass(frozen=True)
class SpecialTokenLayout:
    """Ids of the special tokens for a vocabulary of `vocab_size` ids."""

    vocab_size: int
    num_special_slots: int = RELEASED_SPECIAL_SLOTS

    def __post_init__(self):
        if self.num_special_slots < len(NAMED_TAIL_TOKENS):
            raise ValueError(f"num_special_slots must be >= {len(NAMED_TAIL_TOKENS)}, got {self.num_special_slots}")
        # 2 meta pieces + 256 byte pieces + at least one learned piece must fit below the tail.
        if self.vocab_size - self.num_special_slots < 2 + 256 + 1:
            raise ValueError(f"vocab_size {self.vocab_size} leaves no room for byte-fallback BPE below "
                             f"{self.num_special_slots} special slots (need > {2 + 256 + self.num_special_slots})")

    @property
    def first_special_id(self) -> int:
        return self.vocab_size - self.num_special_slots

    @property
    def base_size(self) -> int:
        """Ids learned by BPE training, meta and byte pieces included (everything below the tail)."""
        return self.first_special_id

    @property
    def eos_id(self) -> int:
        return self.first_special_id

    @property
    def bos_id(self) -> int:
        return self.first_special_id + 1

    def tail_tokens(self) -> list[str]:
        """The special pieces in id order, starting at `first_special_id`."""
        extra = self.num_special_slots - len(NAMED_TAIL_TOKENS)
        return [*NAMED_TAIL_TOKENS, *(reserved_token(k) for k in range(extra))]

    def token_ids(self) -> dict[str, int]:
        ids = {PAD: PAD_ID, UNK: UNK_ID}
        ids.update({tok: self.first_special_id + i for i, tok in enumerate(self.tail_tokens())})
        return ids
