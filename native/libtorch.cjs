// Locates libtorch for binding.gyp: `node libtorch.cjs include|libdir|libs|defines`.
// Order: $LIBTORCH (a LibTorch distribution or a pip `torch` package directory), then Debian's paths.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function fail(msg) {
  process.stderr.write(`mmgap: ${msg}\n` +
    'Fix: on Debian/Ubuntu run `sudo apt-get install -y libtorch-dev`, or set LIBTORCH to a LibTorch\n' +
    'distribution (https://pytorch.org, "LibTorch" download) or to a pip torch directory\n' +
    '(python3 -c "import torch, os; print(os.path.dirname(torch.__file__))").\n');
  process.exit(1);
}

function locate() {
  const root = process.env.LIBTORCH;
  if (root) {
    const inc = path.join(root, 'include');
    const lib = path.join(root, 'lib');
    if (!fs.existsSync(path.join(inc, 'ATen', 'ATen.h'))) fail(`LIBTORCH=${root} has no include/ATen/ATen.h`);
    if (!fs.existsSync(path.join(lib, 'libtorch_cpu.so'))) fail(`LIBTORCH=${root} has no lib/libtorch_cpu.so`);
    return { inc: [inc, path.join(inc, 'torch', 'csrc', 'api', 'include')], lib };
  }
  const debLib = '/usr/lib/x86_64-linux-gnu';
  const arch = fs.existsSync(path.join(debLib, 'libtorch_cpu.so')) ? debLib : '/usr/lib/aarch64-linux-gnu';
  if (!fs.existsSync('/usr/include/ATen/ATen.h') || !fs.existsSync(path.join(arch, 'libtorch_cpu.so'))) {
    fail('libtorch not found (no LIBTORCH set, no /usr/include/ATen/ATen.h with libtorch_cpu.so).');
  }
  return { inc: ['/usr/include', '/usr/include/torch/csrc/api/include'], lib: arch };
}

// pip wheels (and LibTorch "pre-cxx11 ABI" builds) use the old libstdc++ ABI; the headers' config says which.
function cxx11Abi(lib) {
  const cfg = [path.join(lib, '..', 'share', 'cmake', 'Torch', 'TorchConfig.cmake'),
    path.join(lib, 'cmake', 'Torch', 'TorchConfig.cmake')].find((f) => fs.existsSync(f));
  if (cfg && /_GLIBCXX_USE_CXX11_ABI=0/.test(fs.readFileSync(cfg, 'utf8'))) return 0;
  return 1;
}

const where = locate();
const hasCuda = fs.existsSync(path.join(where.lib, 'libtorch_cuda.so'));
const what = process.argv[2];
if (what === 'include') console.log(where.inc.join(' '));
else if (what === 'libdir') console.log(where.lib);
else if (what === 'libs') console.log(['-ltorch', '-ltorch_cpu', '-lc10', ...(hasCuda ? ['-ltorch_cuda', '-lc10_cuda'] : [])].join(' '));
else if (what === 'defines') console.log(`_GLIBCXX_USE_CXX11_ABI=${cxx11Abi(where.lib)}${hasCuda ? ' MMGAP_CUDA=1' : ''}`);
else fail(`libtorch.cjs: unknown query "${what}"`);
