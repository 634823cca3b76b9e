#!/usr/bin/env bash
# The GPU check, run on a lent GPU machine (see docs/RESULTS.md): builds the addon against the
# machine's pip libtorch (CUDA), runs scripts/cuda-smoke.mjs and the engine benchmark on CUDA.
# Expects, carried from the development machine: .device/node.xz (the Node binary),
# .device/node-include (Node-API headers), node_modules/node-addon-api and dist/ (the built JS).
set -uo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
exec > >(tee "$out/device.log") 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
mkdir -p /tmp/nd && xz -dc .device/node.xz > /tmp/nd/node && chmod +x /tmp/nd/node && export PATH=/tmp/nd:$PATH
node -v
TORCH=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
ABI=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
mkdir -p native/build/Release
time g++ -std=c++17 -O2 -shared -fPIC -D_GLIBCXX_USE_CXX11_ABI="$ABI" -DNAPI_EXPERIMENTAL -DNAPI_CPP_EXCEPTIONS \
  -I.device/node-include -Inode_modules/node-addon-api -I"$TORCH/include" -I"$TORCH/include/torch/csrc/api/include" \
  native/src/addon.cc -o native/build/Release/mmgap_native.node \
  -L"$TORCH/lib" -Wl,-rpath,"$TORCH/lib" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 -ltorch_cuda -lc10_cuda || exit 1
node scripts/cuda-smoke.mjs
MMGAP_PYTHON=python3 node dist/bench/engine.js --device cuda --steps 40 --threads 8 > "$out/bench.json"
tail -1 "$out/bench.json"
# Mixed precision on the GPU (issue #13): fp16 autocast + GradScaler and bf16 autocast on both sides, fp32 beside each.
for p in fp16 bf16; do
  MMGAP_PYTHON=python3 node dist/bench/engine.js --device cuda --steps 40 --threads 8 --quick --precision "$p" > "$out/bench-$p.json"
  tail -1 "$out/bench-$p.json"
done
