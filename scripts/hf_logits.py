#!/usr/bin/env python3
"""Reference logits for an rlmesh checkpoint folder, computed the way Hugging Face `LlamaForCausalLM` does.

`transformers`, `safetensors` and `tokenizers` are not installable here (PyPI is unreachable and Debian
bookworm ships none of them), so this is a from-scratch PyTorch forward pass that follows the transformers
Llama code path step for step, in float32:
  - RMSNorm: x * rsqrt(mean(x^2) + eps) computed in float32, then times the weight;
  - RoPE: inv_freq = 1 / theta^(arange(0, D, 2) / D), angles = positions x inv_freq, emb = cat(angles, angles),
    q' = q * cos + rotate_half(q) * sin with rotate_half(x) = cat(-x[D/2:], x[:D/2]);
  - attention: GQA via repeat_kv (each kv head serves num_heads / num_kv_heads query heads, in order),
    scores * D^-0.5 + causal mask, softmax in float32, then o_proj;
  - MLP: down_proj(silu(gate_proj(x)) * up_proj(x)); pre-norm residual blocks; final norm; lm_head
    (or the embedding when tie_word_embeddings).
Safetensors is parsed directly (u64 header length, JSON header, raw little-endian data; F32/F16/BF16).

Usage:  python3 scripts/hf_logits.py CHECKPOINT_DIR '[[1, 40, 41], [1, 42, 43]]'
Prints {"shape": [B, T, V], "logits": [...]} (row-major, float32 values as exact decimals) on stdout.
Needs: python3-torch (apt-get install -y python3-torch).
"""
import json
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        begin, end = meta["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[meta["dtype"]])
        out[name] = t.reshape(meta["shape"]).to(torch.float32)
    return out


def rms_norm(x, weight, eps):
    x32 = x.to(torch.float32)
    variance = x32.pow(2).mean(-1, keepdim=True)
    return weight * (x32 * torch.rsqrt(variance + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope(positions, dim, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    angles = positions[:, :, None].float() * inv_freq[None, None, :]  # [B, T, D/2]
    emb = torch.cat((angles, angles), dim=-1)  # [B, T, D]
    return emb.cos()[:, None], emb.sin()[:, None]  # [B, 1, T, D]


def repeat_kv(x, groups):
    b, kv, t, d = x.shape
    if groups == 1:
        return x
    return x[:, :, None, :, :].expand(b, kv, groups, t, d).reshape(b, kv * groups, t, d)  # [B, nh, T, D]


def forward(cfg, w, ids):
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads") or nh
    D, eps = H // nh, cfg.get("rms_norm_eps", 1e-6)
    B, T = ids.shape
    positions = torch.arange(T)[None, :].expand(B, T)
    cos, sin = rope(positions, D, cfg.get("rope_theta", 10000.0))
    causal = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)  # [T, T]
    x = w["model.embed_tokens.weight"][ids]  # [B, T, H]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(B, T, nh, D).transpose(1, 2)  # [B, nh, T, D]
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(B, T, nkv, D).transpose(1, 2)  # [B, kv, T, D]
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(B, T, nkv, D).transpose(1, 2)  # [B, kv, T, D]
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = repeat_kv(k, nh // nkv), repeat_kv(v, nh // nkv)
        scores = (q @ k.transpose(2, 3)) * D**-0.5 + causal  # [B, nh, T, T]
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32)
        att = (probs @ v).transpose(1, 2).reshape(B, T, nh * D)  # [B, T, H]
        x = x + att @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        up = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ head.T  # [B, T, V]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    folder, ids_json = sys.argv[1], sys.argv[2]
    with open(f"{folder}/config.json") as f:
        cfg = json.load(f)
    if cfg.get("architectures") != ["LlamaForCausalLM"] or cfg.get("model_type") != "llama":
        sys.exit("config.json is not a LlamaForCausalLM config")
    weights = read_safetensors(f"{folder}/model.safetensors")
    ids = torch.tensor(json.loads(ids_json), dtype=torch.int64)
    with torch.no_grad():
        logits = forward(cfg, weights, ids)
    json.dump({"shape": list(logits.shape), "logits": logits.reshape(-1).tolist()}, sys.stdout)


if __name__ == "__main__":
    main()
