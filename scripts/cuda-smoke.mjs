// CUDA check of the built package (run by scripts/device-check.sh on a GPU machine): a ResNet18
// forward and backward on the GPU against PyTorch's on the same GPU, then a short trainRun on a
// generated folder dataset with device "cuda". Prints one JSON line per check.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { nn, randn, randint, manualSeed, cudaAvailable, libtorchVersion, noGrad, saveSafetensors, loadSafetensors } from '../dist/src/torch/index.js';
import { writeNpy } from '../dist/src/data/io/npy.js';
import { trainRun } from '../dist/src/train/run.js';

const report = (o) => console.log(JSON.stringify(o));
report({ check: 'cuda available', ok: cudaAvailable(), libtorch: libtorchVersion });

function relErr(a, b) {
  const x = a.toFloat64Array(), y = b.toFloat64Array();
  let num = 0, den = 0;
  for (let i = 0; i < x.length; i++) { num = Math.max(num, Math.abs(x[i] - y[i])); den = Math.max(den, Math.abs(y[i])); }
  return num / Math.max(den, 1e-12);
}

// ResNet18 forward + backward on CUDA against PyTorch's (torchvision) on CUDA, same weights and
// inputs: the same cuDNN kernels on both sides, so the numbers must agree closely.
manualSeed(0);
const ref = new nn.ResNet18({ inChannels: 3, numClasses: 10 });
const dir = mkdtempSync(join(tmpdir(), 'mmgap-cuda-parity-'));
const x = randn([8, 3, 64, 64]);
const y = randint(0, 10, [8]);
saveSafetensors(join(dir, 'weights.st'), ref.stateDict());
saveSafetensors(join(dir, 'in.st'), { x, y });
execFileSync('python3', ['-c', `
import sys, torch, torchvision, torch.nn as nn
sys.path.insert(0, 'test/helpers')
from st import load, save
torch.backends.cudnn.deterministic = True
d = sys.argv[1]
m = torchvision.models.resnet18(num_classes=10)
m.load_state_dict(load(d + '/weights.st'))
m = m.cuda().train()
i = load(d + '/in.st')
loss = nn.functional.cross_entropy(m(i['x'].cuda()), i['y'].cuda())
loss.backward()
save(d + '/out.st', {'loss': loss.reshape(1), **{'grad.' + n: p.grad for n, p in m.named_parameters()}})
`, dir], { stdio: 'inherit' });
const expected = loadSafetensors(join(dir, 'out.st')).tensors;
ref.to({ device: 'cuda' });
const loss = nn.F.crossEntropy(ref.forward(x.to('cuda')), y.to('cuda'));
loss.backward();
const lossErr = Math.abs(loss.item() - expected.get('loss').item()) / Math.abs(expected.get('loss').item());
const gradErr = Math.max(...[...ref.namedParameters()].map(([n, p]) => relErr(p.grad.to('cpu'), expected.get('grad.' + n))));
report({ check: 'resnet18 on cuda vs PyTorch on cuda', lossRelErr: lossErr, maxGradRelErr: gradErr, ok: lossErr < 1e-4 && gradErr < 1e-2 });
report({ check: 'eval on cuda', ok: noGrad(() => ref.eval().forward(x.to('cuda'))).device.startsWith('cuda') });

// A short training run on the GPU through the trainer.
const root = mkdtempSync(join(tmpdir(), 'mmgap-cuda-'));
for (const m of ['audio', 'visual']) mkdirSync(join(root, m));
const lines = ['id,label,split'];
let k = 0;
for (const [split, n] of [['train', 40], ['val', 10], ['test', 10]]) {
  for (let c = 0; c < 3; c++) for (let i = 0; i < n; i++) {
    const id = `s${k++}`;
    lines.push(`${id},c${c},${split}`);
    for (const [mi, m] of ['audio', 'visual'].entries()) {
      const v = new Float32Array(64).map(() => Math.random() - 0.5);
      for (let p = 0; p < 8; p++) v[(2 * c + (p >> 2)) * 8 + (p & 3) + 2 * mi] += mi === 0 ? 1.5 : 0.6;
      writeFileSync(join(root, m, `${id}.npy`), writeNpy(v, [1, 8, 8]));
    }
  }
}
writeFileSync(join(root, 'manifest.csv'), lines.join('\n') + '\n');
const t0 = Date.now();
const s = await trainRun({ data: `folder:${root}`, method: 'gmm-adaptive', epochs: 4, warmup: 1, batchSize: 16, width: 4, optimizer: 'adam', lr: 0.01, device: 'cuda' },
  { outDir: mkdtempSync(join(tmpdir(), 'mmgap-cuda-run-')) });
report({ check: 'trainRun on cuda', testAcc: s.test.acc, seconds: (Date.now() - t0) / 1000, ok: s.test.acc > 0.5 });
