"""MinHash signatures for batches of documents, bit-identical to datasketch 2.0.

`MinHasher(num_perm, seed, scheme, hashfunc)` produces, for the same shingles, exactly the
`hashvalues` of `datasketch.MinHash(num_perm, seed, scheme=scheme, hashfunc=hashfunc)`
after `update_batch(shingles)`:

  * permutations: drawn from `np.random.RandomState(seed)` in datasketch's order;
  * "affine32"/"affine64": h -> fmix_w(h) (MurmurHash3 finalizer), then a_k * h + b_k
    with uint{w} wrap-around; "legacy": (a_k * h + b_k) mod (2^61 - 1), masked to 32 bits,
    computed in uint64 with the same wrap-around datasketch's numpy code has;
  * a document with no shingles keeps the scheme's maximum in every position.

Speed comes from (1) hashing a document's shingles with one bytes join for the SHA1 hash
functions (the same numbers `datasketch.hashfunc.sha1_hash32/64` give; any other
callable is called once per shingle, as datasketch does) and (2) applying the
permutations in place, as whole-array numpy ops, to cache-sized blocks of a document's
de-duplicated shingle rows, with one reused buffer per batch instead of two fresh
S x P arrays per document (see benchmarks/minhash.py for what that is worth).

Shapes: D documents, S shingles of one document, P = num_perm, B bands x R rows
(B * R <= P).
"""
from __future__ import annotations

import hashlib
import struct
from typing import Callable, Iterable, Sequence

import numpy as np

SCHEMES = ("affine32", "affine64", "legacy")

_MERSENNE_PRIME = np.uint64((1 << 61) - 1)
_LEGACY_MAX = np.uint64((1 << 32) - 1)
_DTYPES = {"affine32": np.uint32, "affine64": np.uint64, "legacy": np.uint64}
_MAX_VALUES = {"affine32": (1 << 32) - 1, "affine64": (1 << 64) - 1, "legacy": (1 << 32) - 1}
_FMIX = {
    32: (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16)),
    64: (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(33), np.uint64(0xC4CEB9FE1A85EC53), np.uint64(33)),
}
# Bytes of permuted values per block: small enough to stay in L2 while three passes run.
_BLOCK_BYTES = 512 * 1024  # 64 rows at 2048 uint32 permutations


def sha1_hash32(data: bytes) -> int:
    """First 4 bytes of SHA1, little-endian (= datasketch.hashfunc.sha1_hash32)."""
    return struct.unpack("<I", hashlib.sha1(data).digest()[:4])[0]


def sha1_hash64(data: bytes) -> int:
    """First 8 bytes of SHA1, little-endian (= datasketch.hashfunc.sha1_hash64)."""
    return struct.unpack("<Q", hashlib.sha1(data).digest()[:8])[0]


def _sha1_prefix_width(hashfunc: Callable) -> int | None:
    """4 or 8 when hashfunc is one of the SHA1-prefix functions we can hash in bulk."""
    known = {sha1_hash32: 4, sha1_hash64: 8}
    try:  # datasketch's own functions compute the same numbers
        from datasketch import hashfunc as ds_hashfunc

        known[ds_hashfunc.sha1_hash32] = 4
        known[ds_hashfunc.sha1_hash64] = 8
    except ImportError:  # pragma: no cover - datasketch is pinned, but not needed here
        pass
    return known.get(hashfunc)


def fmix(values: np.ndarray, width: int) -> np.ndarray:
    """MurmurHash3 finalizer on uint{width} arrays (wrap-around multiply intended)."""
    s1, m1, s2, m2, s3 = _FMIX[width]
    values = values ^ (values >> s1)
    values = values * m1
    values = values ^ (values >> s2)
    values = values * m2
    return values ^ (values >> s3)


def permutations(num_perm: int, seed: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's permutation parameters (a, b), each of shape (P,)."""
    gen = np.random.RandomState(seed)
    if scheme == "legacy":
        ab = np.array(
            [
                (gen.randint(1, _MERSENNE_PRIME, dtype=np.uint64), gen.randint(0, _MERSENNE_PRIME, dtype=np.uint64))
                for _ in range(num_perm)
            ],
            dtype=np.uint64,
        ).T
        return ab[0].copy(), ab[1].copy()
    width = 32 if scheme == "affine32" else 64
    dtype = _DTYPES[scheme]
    a = gen.randint(0, 1 << (width - 1), num_perm, dtype=dtype) * dtype(2) + dtype(1)
    b = gen.randint(0, 1 << width, num_perm, dtype=dtype)
    return a, b


class MinHasher:
    """Vectorised MinHash with datasketch's parameters (see the module docstring)."""

    def __init__(self, num_perm: int = 2048, seed: int = 1, scheme: str = "affine32",
                 hashfunc: Callable[[bytes], int] | None = None):
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        if num_perm < 1:
            raise ValueError("num_perm must be positive")
        self.num_perm = num_perm
        self.seed = seed
        self.scheme = scheme
        self.hashfunc = hashfunc or (sha1_hash64 if scheme == "affine64" else sha1_hash32)
        self.dtype = _DTYPES[scheme]
        self.max_value = self.dtype(_MAX_VALUES[scheme])
        self.a, self.b = permutations(num_perm, seed, scheme)
        self._sha1_width = _sha1_prefix_width(self.hashfunc)
        self._block_rows = max(8, _BLOCK_BYTES // (num_perm * np.dtype(self.dtype).itemsize))

    # ---- hashing -------------------------------------------------------------------
    def hash_shingles(self, shingles: Sequence[bytes]) -> np.ndarray:
        """hashfunc applied to every shingle: shape (S,), the scheme's dtype."""
        if self._sha1_width == 4 and self.scheme != "affine64":
            sha1 = hashlib.sha1
            joined = b"".join([sha1(s).digest()[:4] for s in shingles])
            return np.frombuffer(joined, dtype="<u4").astype(self.dtype)
        if self._sha1_width == 8 and self.scheme == "affine64":
            sha1 = hashlib.sha1
            joined = b"".join([sha1(s).digest()[:8] for s in shingles])
            return np.frombuffer(joined, dtype="<u8").astype(np.uint64)
        values = [self.hashfunc(s) for s in shingles]
        try:
            return np.array(values, dtype=self.dtype)
        except OverflowError as err:
            raise ValueError(
                f"hashfunc returned a value out of range for scheme {self.scheme!r}: {err}; "
                "use a 32-bit hash for affine32/legacy or scheme='affine64' for 64-bit hashes"
            ) from err

    # ---- signatures ----------------------------------------------------------------
    def signatures_from_hashes(self, hash_arrays: Sequence[np.ndarray], unique: bool = False) -> np.ndarray:
        """Signatures (D, P) from each document's shingle hashes (arrays of shape (S_d,));
        `unique=True` promises they are already de-duplicated."""
        out = np.full((len(hash_arrays), self.num_perm), self.max_value, dtype=self.dtype)
        buf = np.empty((self._block_rows, self.num_perm), dtype=self.dtype)
        for d, hashes in enumerate(hash_arrays):
            if len(hashes) == 0:
                continue  # datasketch's empty signature: every value the scheme's maximum
            # the minimum ignores repeats: de-duplicating first is exact and skips work
            hv = np.asarray(hashes, dtype=self.dtype)
            if not unique:
                hv = np.unique(hv)
            if self.scheme != "legacy":
                hv = fmix(hv, 32 if self.scheme == "affine32" else 64)
            acc = out[d]
            for r0 in range(0, len(hv), self._block_rows):
                chunk = hv[r0 : r0 + self._block_rows]
                block = buf[: len(chunk)]
                self._permute(chunk, block)
                np.minimum(acc, block.min(axis=0), out=acc)
        return out

    def _permute(self, hv: np.ndarray, block: np.ndarray) -> None:
        """block[s, k] = permutation k applied to hv[s] (in place, no temporaries)."""
        np.multiply(hv[:, None], self.a[None, :], out=block)
        np.add(block, self.b[None, :], out=block)
        if self.scheme == "legacy":
            np.remainder(block, _MERSENNE_PRIME, out=block)
            np.bitwise_and(block, _LEGACY_MAX, out=block)

    def signatures(self, shingle_lists: Iterable[Sequence[bytes]]) -> np.ndarray:
        """Signatures (D, P) of many documents' shingles."""
        return self.signatures_from_hashes([self.hash_shingles(s) for s in shingle_lists])

    def signature(self, shingles: Sequence[bytes]) -> np.ndarray:
        """One document's signature (P,)."""
        return self.signatures([shingles])[0]

    def is_empty(self, signature: np.ndarray) -> bool:
        return bool(np.all(signature == self.max_value))


def band_keys(signatures: np.ndarray, num_bands: int, rows_per_band: int) -> list[list[bytes]]:
    """LSH band keys: for each document (row of `signatures`), one key per band.

    Band i covers signature positions [i * R, (i + 1) * R) (datasketch's MinHashLSH
    layout). A key is the band index (2 bytes, big-endian) followed by a 16-byte BLAKE2b
    digest of the band's little-endian values, so documents collide in a bucket exactly
    when one whole band is equal (up to a 2^-128 chance).
    """
    num_docs, num_perm = signatures.shape
    if num_bands * rows_per_band > num_perm:
        raise ValueError(f"{num_bands} bands x {rows_per_band} rows exceed num_perm={num_perm}")
    little = signatures.astype(signatures.dtype.newbyteorder("<"), copy=False)
    width = rows_per_band * little.dtype.itemsize
    blake2b = hashlib.blake2b
    prefixes = [i.to_bytes(2, "big") for i in range(num_bands)]
    keys = []
    for d in range(num_docs):
        raw = little[d, : num_bands * rows_per_band].tobytes()
        keys.append([prefixes[i] + blake2b(raw[i * width : (i + 1) * width], digest_size=16).digest()
                     for i in range(num_bands)])
    return keys


def lsh_collision_probability(jaccard: float, num_bands: int, rows_per_band: int) -> float:
    """P(two sets with this Jaccard share at least one band) = 1 - (1 - s^R)^B."""
    return 1.0 - (1.0 - jaccard**rows_per_band) ** num_bands


def jaccard_of_hash_sets(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted, de-duplicated hash arrays (1.0 when both are empty)."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)
