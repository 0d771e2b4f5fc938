#!/usr/bin/env bash
# facepipe's emotion model from scratch, in one command (npm run emotion:train): train on the FER2013 train split
# (seeded; resumes from the last checkpoint when re-run), choose the per-class logit bias on the validation split,
# export models/facepipe_emotion_fer.onnx and PyTorch's reference outputs for the parity test.
# Needs Debian's python3-torch, python3-torchvision, python3-onnx and libopenblas0-pthread (apt-get install).
# The shipped model took 134 min of training on 2 shared cores (28 epochs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export FACEPIPE_TRAIN_DIR="${FACEPIPE_TRAIN_DIR:-$here/../../../.training/emotion}"
# Debian's python, not the first python3 in PATH; OpenBLAS's Haswell override slows it ~2.5x on AVX-512 cores.
py=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3)
cd "$here"
"${py[@]}" train.py --run runs/main "$@"
"${py[@]}" select_bias.py --ckpt "$FACEPIPE_TRAIN_DIR/runs/main/ckpt/best.pt" --out "$FACEPIPE_TRAIN_DIR/final"
"${py[@]}" export.py --ckpt "$FACEPIPE_TRAIN_DIR/final/final.pt"
