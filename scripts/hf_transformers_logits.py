#!/usr/bin/env python3
"""Logits and tokenization of an rlmesh checkpoint folder through Hugging Face `transformers` itself.

Loads the folder with `AutoModelForCausalLM.from_pretrained` (float32, eager attention) and `AutoTokenizer`, runs the
given token ids, and tokenizes the given texts without special tokens.

Usage:  python3 scripts/hf_transformers_logits.py CHECKPOINT_DIR '[[1, 40, 41], ...]' '["text", ...]'
Prints {"model": class name, "shape": [B, T, V], "logits": [...], "tokens": [[ids], ...], "decoded": [text, ...]}.
Needs: torch and transformers (see README, "HF compatibility"); scripts/hf_logits.py is the torch-only reference.
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    ckpt, ids, texts = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    model = AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    tok = AutoTokenizer.from_pretrained(ckpt)
    with torch.no_grad():
        logits = model(torch.tensor(ids, dtype=torch.long)).logits.float()
    tokens = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    json.dump({
        "model": type(model).__name__,
        "shape": list(logits.shape),
        "logits": [float(x) for x in logits.reshape(-1).tolist()],
        "tokens": tokens,
        "decoded": [tok.decode(t) for t in tokens],
    }, sys.stdout)


if __name__ == "__main__":
    main()
