"""The spectrogram tokenizer (DESIGN §2): a frequency-local conv encoder, an EMA vector
quantiser with data-initialised codes and dead-code restart, and a conv decoder.

Layout: the normalised mel (B, 1, 80, T) is cut by the first convolution into 5 rows of
16 bins (kernel height 16, stride 16); every later layer has kernel height 1. So a token
depends only on its own row's 16 mel bins, which is the contract bandwidth extension
needs. Time context is short: the encoder's receptive field is 70 frames (±2 columns).
Each row gets a learned bias, so rows share weights but not statistics.
T must be a multiple of 16; tokens form a (5, T/16) grid.
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

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


class ResBlock(nn.Module):
    """x + conv(gelu(conv(gelu(x)))) along time; kernel (1, k)."""

    def __init__(self, c: int, k: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, (1, k), padding=(0, k // 2))
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
        self.res = nn.ModuleList([ResBlock(c, 3), ResBlock(c, 3), ResBlock(c, 3), ResBlock(c, 3)])
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

    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
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


class Tokenizer(nn.Module):
    def __init__(self, cfg: TokenizerConfig = TokenizerConfig()):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.quantizer = EMAQuantizer(cfg)
        self.decoder = Decoder(cfg)

    def forward(self, x, step: int = 0):
        q, codes, commit = self.quantizer(self.encoder(x), step)
        return self.decoder(q), codes, commit

    @torch.no_grad()
    def encode(self, x):                       # (B, 1, 80, T) -> (B, 5, T/16) int64
        z = self.encoder(x)
        b, d, r, c = z.shape
        return self.quantizer.nearest(z.permute(0, 2, 3, 1).reshape(-1, d)).reshape(b, r, c)

    @torch.no_grad()
    def decode(self, codes):                   # (B, 5, C) -> (B, 1, 80, 16·C)
        q = self.quantizer.codebook[codes].permute(0, 3, 1, 2)
        return self.decoder(q)

    def export_tensors(self) -> dict[str, torch.Tensor]:
        sd = {k: v for k, v in self.state_dict().items() if not k.startswith("quantizer.")}
        sd["quantizer.codebook"] = self.quantizer.codebook
        return sd
