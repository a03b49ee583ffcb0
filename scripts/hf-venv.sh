#!/usr/bin/env bash
# A Python venv with torch and Hugging Face transformers, for test/integration/hf-compat.test.ts (the check that HF
# transformers loads an rlmesh checkpoint folder with the same logits). Prints the venv's python on stdout; reuses
# a venv that already imports both. Usage: scripts/hf-venv.sh [DIR]   (default ~/.cache/rlmesh/hf-venv)
# Then: RLMESH_HF_PYTHON=<printed path> node --import tsx --test test/integration/hf-compat.test.ts
set -euo pipefail
dir=${1:-$HOME/.cache/rlmesh/hf-venv}
py=$dir/bin/python
if [ -x "$py" ] && "$py" -c 'import torch, transformers' 2>/dev/null; then echo "$py"; exit 0; fi
python3 -m venv "$dir" >&2
pip=("$dir/bin/pip" install --disable-pip-version-check -q)
mirror=/opt/pypi-more/files
if ls "$mirror"/torch-2.14.1-*.whl >/dev/null 2>&1; then
  # Offline wheel mirror (the rlmesh dev machines): torch's CUDA wheels without cuda-bindings, which the mirror
  # lacks and a CPU forward pass never imports.
  local=(--no-index --find-links /opt/pypi/files --find-links "$mirror")
  "${pip[@]}" "${local[@]}" --no-deps torch==2.14.1 "$mirror"/nvidia_*.whl "$mirror"/cuda_toolkit-*.whl "$mirror"/cuda_pathfinder-*.whl >&2
  "${pip[@]}" "${local[@]}" filelock typing_extensions sympy networkx jinja2 fsspec numpy transformers==5.17.0 safetensors >&2
else
  "${pip[@]}" torch transformers safetensors >&2
fi
"$py" -c 'import torch, transformers' >&2
echo "$py"
