"""The spectrogram tokenizer (docs/engine.md §2): a frequency-local conv encoder, an EMA vector
quantiser with data-initialised codes and dead-code restart, and a conv decoder.

Layout: the normalised mel (B, 1, 80, T) is cut by the first convolution into 5 rows of
16 bins (kernel height 16, stride 16); every later layer has kernel height 1. So a token
depends only on its own row's 16 mel bins, which is the contract bandwidth extension
needs. Time context is short: the encoder's receptive field is 70 frames (±2 columns).
Each row gets a learned bias, so rows share weights but not statistics.
T must be a multiple of 16; tokens form a (5, T/16) grid.

Variants (issue 16, `variant` in the config; "v1" is the shipped model, unchanged):

* "v1"  one code of K per position.
* "gs"  gain-shape: each position also gets a level code, the mean of its 16×16 patch of the
        normalised mel quantised uniformly on [-1, 1] to `gain_levels` classes. The encoder
        sees the mel with the quantised level subtracted (closed loop, so the shape code also
        absorbs the level's rounding error); the decoder adds the level back and gets a
        learned embedding of the level class beside the shape code.
* "rvq" two-level residual codes: a second EMA quantiser of `residual_codebook_size` codes
        quantises z − q₁; the decoder gets q₁ + q₂.

`db_min` is the floor of the input normalisation (clip(dB, db_min, 20) mapped to [-1, 1]); the
shipped front end uses -80 dB, the vocoder's own floor is ln(1e-5) = -100 dB.
`decoder_row_kernel` > 1 lets the DECODER look across rows (kernel height 3 in its residual
blocks); the encoder stays frequency-local in every variant. Levels are returned by
`encode_levels` / taken by `decode_levels` as a list: [main codes, level-2 codes]; `encode` and
`decode` keep the v1 signature (main codes only; level 2 then taken from the codes' own
encoding is not possible, so they raise for multi-level variants).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class TokenizerConfig:
    width: int = 128        # channels C
    code_dim: int = 64      # D
    codebook_size: int = 1024   # K
    rows: int = 5
    bins_per_row: int = 16
    frames_per_token: int = 16
    commitment: float = 0.25
    ema_decay: float = 0.99
    # v2 study fields; left out of the JSON at their defaults so a v1 config reads as before.
    variant: str = "v1"
    gain_levels: int = 0              # "gs": level classes
    residual_codebook_size: int = 0   # "rvq": second-level codes
    decoder_row_kernel: int = 1       # >1: the decoder mixes neighbouring rows
    db_min: float = -80.0             # the normalisation's floor (dB); the shipped front end's is -80

    def to_json(self) -> str:
        d = asdict(self)
        for k, v in V2_DEFAULTS.items():
            if d[k] == v:
                del d[k]
        return json.dumps(d, sort_keys=True)

    @property
    def levels(self) -> int:
        return 2 if self.variant in ("gs", "rvq") else 1

    @property
    def level_sizes(self) -> list[int]:
        if self.variant == "gs":
            return [self.codebook_size, self.gain_levels]
        if self.variant == "rvq":
            return [self.codebook_size, self.residual_codebook_size]
        return [self.codebook_size]


V2_DEFAULTS = {"variant": "v1", "gain_levels": 0, "residual_codebook_size": 0, "decoder_row_kernel": 1, "db_min": -80.0}


class ResBlock(nn.Module):
    """x + conv(gelu(conv(gelu(x)))) along time; kernel (1, k), or (h, k) across rows
    (decoder only)."""

    def __init__(self, c: int, k: int, h: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, (h, k), padding=(h // 2, k // 2))
        self.conv2 = nn.Conv2d(c, c, (1, k), padding=(0, k // 2))

    def forward(self, x):
        return x + self.conv2(F.gelu(self.conv1(F.gelu(x))))


class Encoder(nn.Module):
    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
        c = cfg.width
        self.conv_in = nn.Conv2d(1, c, (cfg.bins_per_row, 4), stride=(cfg.bins_per_row, 2), padding=(0, 1))
        self.row_bias = nn.Parameter(torch.zeros(1, c, cfg.rows, 1))
        self.res = nn.ModuleList([ResBlock(c, 3), ResBlock(c, 3), ResBlock(c, 1), ResBlock(c, 1)])
        self.down = nn.ModuleList([nn.Conv2d(c, c, (1, 4), stride=(1, 2), padding=(0, 1)) for _ in range(3)])
        self.conv_out = nn.Conv2d(c, cfg.code_dim, 1)

    def forward(self, x):                      # (B, 1, 80, T) -> (B, D, 5, T/16)
        h = self.conv_in(x) + self.row_bias
        h = self.res[0](h)
        for i in range(3):
            h = self.res[i + 1](self.down[i](F.gelu(h)))
        return self.conv_out(F.gelu(h))


class Decoder(nn.Module):
    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
        c = cfg.width
        self.conv_in = nn.Conv2d(cfg.code_dim, c, 1)
        self.row_bias = nn.Parameter(torch.zeros(1, c, cfg.rows, 1))
        h = cfg.decoder_row_kernel
        self.res = nn.ModuleList([ResBlock(c, 3, h), ResBlock(c, 3, h), ResBlock(c, 3, h), ResBlock(c, 3, h)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(c, c, (1, 4), stride=(1, 2), padding=(0, 1)) for _ in range(3)])
        self.conv_out = nn.ConvTranspose2d(c, 1, (cfg.bins_per_row, 4), stride=(cfg.bins_per_row, 2), padding=(0, 1))

    def forward(self, q):                      # (B, D, 5, T/16) -> (B, 1, 80, T)
        h = self.res[0](self.conv_in(q) + self.row_bias)
        for i in range(3):
            h = self.res[i + 1](self.up[i](F.gelu(h)))
        return self.conv_out(F.gelu(h))


class EMAQuantizer(nn.Module):
    """Nearest-code quantiser; codes follow EMA cluster means (van den Oord et al. 2017,
    appendix), are initialised from encoder outputs, and dead codes restart on them."""

    def __init__(self, cfg: TokenizerConfig, codebook_size: int | None = None):
        super().__init__()
        if codebook_size is not None and codebook_size != cfg.codebook_size:
            from dataclasses import replace
            cfg = replace(cfg, codebook_size=codebook_size)
        self.cfg = cfg
        self.register_buffer("codebook", torch.randn(cfg.codebook_size, cfg.code_dim) * 0.01)
        self.register_buffer("cluster_size", torch.zeros(cfg.codebook_size))
        self.register_buffer("embed_sum", self.codebook.clone())
        self.register_buffer("initialised", torch.tensor(0))
        self.register_buffer("last_used", torch.zeros(cfg.codebook_size, dtype=torch.long))

    def nearest(self, flat):                   # (N, D) -> (N,)
        d = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.t() + self.codebook.pow(2).sum(1)[None])
        return d.argmin(1)

    def forward(self, z, step: int = 0):       # z (B, D, R, C)
        b, d, r, c = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)
        if self.training and int(self.initialised) == 0:
            idx = torch.randperm(flat.shape[0])[: self.cfg.codebook_size]
            pick = flat[idx].detach()
            if pick.shape[0] < self.cfg.codebook_size:
                pick = pick[torch.randint(0, pick.shape[0], (self.cfg.codebook_size,))]
            self.codebook.copy_(pick + 1e-3 * torch.randn_like(pick))
            self.embed_sum.copy_(self.codebook)
            self.cluster_size.fill_(1.0)
            self.initialised.fill_(1)
        codes = self.nearest(flat.detach())
        q = self.codebook[codes]
        if self.training:
            with torch.no_grad():
                onehot = F.one_hot(codes, self.cfg.codebook_size).type(flat.dtype)
                counts = onehot.sum(0)
                self.cluster_size.mul_(self.cfg.ema_decay).add_(counts, alpha=1 - self.cfg.ema_decay)
                self.embed_sum.mul_(self.cfg.ema_decay).add_(onehot.t() @ flat.detach(), alpha=1 - self.cfg.ema_decay)
                n = self.cluster_size.sum()
                size = (self.cluster_size + 1e-5) / (n + self.cfg.codebook_size * 1e-5) * n
                self.codebook.copy_(self.embed_sum / size[:, None])
                self.last_used[counts > 0] = step
                dead = (step - self.last_used) > 200
                if dead.any():
                    k = int(dead.sum())
                    pick = flat.detach()[torch.randint(0, flat.shape[0], (k,))]
                    self.codebook[dead] = pick
                    self.embed_sum[dead] = pick
                    self.cluster_size[dead] = 1.0
                    self.last_used[dead] = step
        commit = F.mse_loss(flat, q.detach())
        q = flat + (q - flat).detach()         # straight-through
        q = q.reshape(b, r, c, d).permute(0, 3, 1, 2)
        return q, codes.reshape(b, r, c), commit


def patch_level(x: torch.Tensor, cfg: TokenizerConfig) -> torch.Tensor:
    """Mean of each row's 16×16 patch: (B, 1, 80, T) -> (B, rows, T/16)."""
    return F.avg_pool2d(x, (cfg.bins_per_row, cfg.frames_per_token))[:, 0]


def level_index(g: torch.Tensor, levels: int) -> torch.Tensor:
    """Uniform scalar quantiser of a level in [-1, 1] to `levels` classes."""
    return torch.round((g.clamp(-1, 1) + 1) / 2 * (levels - 1)).long()


def level_value(idx: torch.Tensor, levels: int) -> torch.Tensor:
    return idx.float() / (levels - 1) * 2 - 1


def expand_levels(gq: torch.Tensor, cfg: TokenizerConfig) -> torch.Tensor:
    """(B, rows, C) -> (B, 1, 80, 16·C), each patch filled with its level."""
    return gq.repeat_interleave(cfg.bins_per_row, 1).repeat_interleave(cfg.frames_per_token, 2)[:, None]


class Tokenizer(nn.Module):
    def __init__(self, cfg: TokenizerConfig = TokenizerConfig()):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.quantizer = EMAQuantizer(cfg)
        self.decoder = Decoder(cfg)
        if cfg.variant == "gs":
            self.gain_embedding = nn.Embedding(cfg.gain_levels, cfg.code_dim)
            nn.init.zeros_(self.gain_embedding.weight)
        elif cfg.variant == "rvq":
            self.quantizer2 = EMAQuantizer(cfg, cfg.residual_codebook_size)
        elif cfg.variant != "v1":
            raise ValueError(f"unknown tokenizer variant {cfg.variant!r}")

    # -- the pieces, shared by training and inference
    def _gain(self, x):
        idx = level_index(patch_level(x, self.cfg), self.cfg.gain_levels)
        return idx, expand_levels(level_value(idx, self.cfg.gain_levels), self.cfg)

    def _quantize(self, z, step: int):
        """Quantisers in float32 (the nearest-code search and EMA must not run in bf16)."""
        with torch.autocast(z.device.type, enabled=False):
            z = z.float()
            q, codes, commit = self.quantizer(z, step)
            if self.cfg.variant != "rvq":
                return q, [codes], commit
            r = (z - q).detach() if self.training else z - q
            q2, codes2, commit2 = self.quantizer2(r, step)
            commit = F.mse_loss(z, (q + q2).detach())
            # straight-through over the sum: the forward value is q1 + q2, gradients reach z
            qsum = z + (self.quantizer.codebook[codes].permute(0, 3, 1, 2) + self.quantizer2.codebook[codes2].permute(0, 3, 1, 2) - z).detach()
            return qsum, [codes, codes2], commit

    def _decode_q(self, q, gain_idx=None, gain_map=None):
        if self.cfg.variant == "gs":
            q = q + self.gain_embedding(gain_idx).permute(0, 3, 1, 2)
            return self.decoder(q) + gain_map
        return self.decoder(q)

    def forward(self, x, step: int = 0):
        """Reconstruction, codes (main level), commitment loss."""
        y, levels, commit = self.forward_levels(x, step)
        return y, levels[0], commit

    def forward_levels(self, x, step: int = 0):
        gain_idx = gain_map = None
        if self.cfg.variant == "gs":
            gain_idx, gain_map = self._gain(x)
            x = x - gain_map
        q, codes, commit = self._quantize(self.encoder(x), step)
        if gain_idx is not None:
            codes = codes + [gain_idx]
        return self._decode_q(q, gain_idx, gain_map), codes, commit

    @torch.no_grad()
    def encode_levels(self, x) -> list[torch.Tensor]:
        """(B, 1, 80, T) -> [(B, 5, T/16) int64 per level]."""
        gain_idx = None
        if self.cfg.variant == "gs":
            gain_idx, gain_map = self._gain(x)
            x = x - gain_map
        z = self.encoder(x).float()
        b, d, r, c = z.shape
        codes = self.quantizer.nearest(z.permute(0, 2, 3, 1).reshape(-1, d)).reshape(b, r, c)
        if self.cfg.variant == "gs":
            return [codes, gain_idx]
        if self.cfg.variant == "rvq":
            res = z - self.quantizer.codebook[codes].permute(0, 3, 1, 2)
            codes2 = self.quantizer2.nearest(res.permute(0, 2, 3, 1).reshape(-1, d)).reshape(b, r, c)
            return [codes, codes2]
        return [codes]

    @torch.no_grad()
    def decode_levels(self, levels: list[torch.Tensor]):
        q = self.quantizer.codebook[levels[0]].permute(0, 3, 1, 2)
        if self.cfg.variant == "rvq":
            q = q + self.quantizer2.codebook[levels[1]].permute(0, 3, 1, 2)
        if self.cfg.variant == "gs":
            gq = level_value(levels[1], self.cfg.gain_levels)
            return self._decode_q(q, levels[1], expand_levels(gq, self.cfg))
        return self.decoder(q)

    @torch.no_grad()
    def encode(self, x):                       # (B, 1, 80, T) -> (B, 5, T/16) int64
        if self.cfg.variant != "v1":
            raise ValueError("multi-level tokenizer: use encode_levels")
        return self.encode_levels(x)[0]

    @torch.no_grad()
    def decode_expected(self, codes, probs, generated):
        """Expected-code decoding: cells where `generated` (B, 5, C) is set are decoded from
        Σ p(c)·e(c) under `probs` (B, 5, C, K) instead of their token's code e(codes)."""
        if self.cfg.variant != "v1":
            raise ValueError("expected-code decoding is defined for single-level tokenizers")
        book = self.quantizer.codebook
        q = torch.where(generated[..., None], probs @ book, book[codes])         # (B, 5, C, D)
        return self.decoder(q.permute(0, 3, 1, 2))

    @torch.no_grad()
    def decode(self, codes):                   # (B, 5, C) -> (B, 1, 80, 16·C)
        if self.cfg.variant != "v1":
            raise ValueError("multi-level tokenizer: use decode_levels")
        return self.decode_levels([codes])

    def export_tensors(self) -> dict[str, torch.Tensor]:
        sd = {k: v for k, v in self.state_dict().items() if not k.startswith("quantizer.") and not k.startswith("quantizer2.")}
        sd["quantizer.codebook"] = self.quantizer.codebook
        if self.cfg.variant == "rvq":
            sd["quantizer2.codebook"] = self.quantizer2.codebook
        return sd
