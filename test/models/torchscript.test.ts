// TorchScript encoders (--encoder MODALITY=torchscript:PATH): a small CNN scripted by PyTorch
// (Debian's python3-torch) trains in mmgap as the same eager module trains in PyTorch, its trained
// weights go back to Python through torch.jit.load, a run uses it end to end, and bad modules get
// one-line errors naming the file and the input shape.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { autocast, loadSafetensors, nn, noGrad, optim, saveSafetensors, tensor, type Tensor } from '../../src/torch/index.js';
import { TorchScriptEncoder } from '../../src/models/torchscript.js';
import { buildModel } from '../../src/models/classifier.js';
import { resolveConfig } from '../../src/train/config.js';
import { METHODS } from '../../src/methods/registry.js';
import { trainRun, evaluateRun, diagnoseRun, purifyRun } from '../../src/train/run.js';
import type { EpochMetrics, RunConfig } from '../../src/train/types.js';
import { relErr } from '../helpers/compare.js';
import { runPython, tempDir } from '../helpers/python.js';
import { writeTinyDataset } from '../helpers/tiny-dataset.js';
import { freePort } from '../../src/cli/launch.js';

/** The encoder, in PyTorch: conv-BN-ReLU, a strided conv, pooling to 2 x 2 and a linear layer to 8 features. */
const ENCODER = `
import sys, json, torch, torch.nn as nn
from st import load, save
torch.set_num_threads(1)
class Enc(nn.Module):
    def __init__(self, side):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1, bias=False)  # (a bias before BatchNorm gets only rounding noise as gradient)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.fc = nn.Linear(6 * 4, 8)
    def forward(self, x):
        h = torch.relu(self.bn(self.conv(x)))
        h = torch.relu(self.conv2(h))
        return self.fc(nn.functional.adaptive_avg_pool2d(h, 2).flatten(1))
d = sys.argv[1]
`;

/** Scripts Enc into d/enc.pt; its initial weights, a head and a fixed batch go to d/init.st. */
const MAKE = `${ENCODER}
torch.manual_seed(0)
enc = Enc(8)
torch.jit.save(torch.jit.script(enc), d + '/enc.pt')
head = nn.Linear(8, 3)
x = torch.randn(6, 1, 8, 8)
y = torch.tensor([0, 1, 2, 0, 1, 2])
save(d + '/init.st', {**{'enc.' + k: v for k, v in enc.state_dict().items()}, **{'head.' + k: v for k, v in head.state_dict().items()}, 'x': x, 'y': y})
`;

/** The same steps in eager PyTorch, then the eval-mode logits of mmgap's trained file read back by torch.jit.load. */
const STEPS = 3;
const REFERENCE = `${ENCODER}
init = load(d + '/init.st')
enc, head = Enc(8), nn.Linear(8, 3)
enc.load_state_dict({k[4:]: v for k, v in init.items() if k.startswith('enc.')})
head.load_state_dict({k[5:]: v for k, v in init.items() if k.startswith('head.')})
params = list(enc.parameters()) + list(head.parameters())
opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4)
out = {}
for step in range(${STEPS}):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(head(enc(init['x'])), init['y'])
    loss.backward()
    out['loss%d' % step] = loss.detach().reshape(1)
    for n, p in enc.named_parameters():
        out['grad%d.%s' % (step, n)] = p.grad.clone()
    opt.step()
for n, t in enc.state_dict().items():
    out['trained.' + n] = t
enc.eval()
with torch.no_grad():
    out['eager_logits'] = head(enc(init['x']))
    back = torch.jit.load(d + '/trained.pt')
    back.eval()
    out['jit_logits'] = head(back(init['x']))
    for n, t in back.state_dict().items():
        out['back.' + n] = t
save(d + '/ref.st', out)
`;

function pickPrefix(m: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  return new Map([...m].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
}

describe('TorchScript encoders', () => {
  it('train as the eager module trains in PyTorch, and their trained weights load back in Python', () => {
    const d = tempDir();
    runPython(MAKE, [d]);
    const init = loadSafetensors(join(d, 'init.st')).tensors;
    const enc = new TorchScriptEncoder(join(d, 'enc.pt'), { name: 'image', shape: [1, 8, 8] });
    expect(enc.featureDim).toBe(8);
    // The module's state_dict names, as mmgap's own parameters and buffers.
    expect([...enc.stateDict().keys()].sort()).toEqual([...pickPrefix(init, 'enc.').keys()].sort());
    const head = new nn.Linear(8, 3);
    head.loadStateDict(pickPrefix(init, 'head.'));
    const x = init.get('x')!, y = init.get('y')!;
    const opt = new optim.SGD([...enc.parameters(), ...head.parameters()], { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
    enc.train();
    const losses: Tensor[] = [];
    const grads: Map<string, Tensor>[] = [];
    for (let step = 0; step < STEPS; step++) {
      opt.zeroGrad();
      const loss = nn.F.crossEntropy(head.forward(enc.forward(x)), y);
      loss.backward();
      losses.push(loss.detach().reshape([1]));
      grads.push(new Map([...enc.namedParameters()].map(([n, p]) => [n, p.grad!.clone()])));
      opt.step();
    }
    enc.eval();
    const logits = noGrad(() => head.forward(enc.forward(x)));
    enc.save(join(d, 'trained.pt'));
    runPython(REFERENCE, [d]);
    const ref = loadSafetensors(join(d, 'ref.st')).tensors;

    // float32, the same libtorch kernels through the JIT interpreter and through eager PyTorch: 1e-5 relative.
    for (let step = 0; step < STEPS; step++) {
      expect(relErr(losses[step]!, ref.get(`loss${step}`)!), `loss of step ${step}`).toBeLessThan(1e-5);
      for (const [n, g] of grads[step]!) expect(relErr(g, ref.get(`grad${step}.${n}`)!), `step ${step} grad ${n}`).toBeLessThan(1e-5);
    }
    // Trained weights and BatchNorm statistics (train mode reached the module), then eval mode (it did too).
    for (const [n, t] of enc.stateDict()) expect(relErr(t, ref.get(`trained.${n}`)!), n).toBeLessThan(1e-5);
    expect(relErr(logits, ref.get('eager_logits')!)).toBeLessThan(1e-5);
    // torch.jit.load of the file mmgap wrote: exactly mmgap's weights, hence the same logits.
    for (const [n, t] of enc.stateDict()) expect(Array.from(ref.get(`back.${n}`)!.toFloat64Array()), n).toEqual(Array.from(t.toFloat64Array()));
    expect(relErr(logits, ref.get('jit_logits')!)).toBeLessThan(1e-6);
  });

  it('runs under autocast and passes lengths to a forward that takes them', () => {
    const d = tempDir();
    runPython(`${ENCODER}
torch.manual_seed(0)
torch.jit.save(torch.jit.script(Enc(8)), d + '/enc.pt')
class Seq(nn.Module):
    def forward(self, x, lengths):
        return x.sum(1) / lengths.unsqueeze(1).to(x.dtype)
torch.jit.save(torch.jit.script(Seq()), d + '/seq.pt')
`, [d]);
    const enc = new TorchScriptEncoder(join(d, 'enc.pt'), { name: 'image', shape: [1, 8, 8] });
    const x = tensor(Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i)), [2, 1, 8, 8]);
    expect(noGrad(() => autocast('cpu', 'bfloat16', () => enc.forward(x))).dtype).toBe('bfloat16');
    expect(enc.forward(x).dtype).toBe('float32');

    const seq = new TorchScriptEncoder(join(d, 'seq.pt'), { name: 'audio', shape: [5, 3] });
    expect(seq.honoursMask).toBe(true);
    expect(seq.featureDim).toBe(3);
    const s = tensor(Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => i), [2, 5, 3]);
    const out = seq.forward(s, tensor(new BigInt64Array([5n, 2n]))).toArray();
    // sample 1 divides its sum over all 5 steps by its 2 valid ones (the module decides what lengths mean)
    expect(out.slice(3)).toEqual([(15 + 18 + 21 + 24 + 27) / 2, (16 + 19 + 22 + 25 + 28) / 2, (17 + 20 + 23 + 26 + 29) / 2]);
    // without lengths (unmasked batches), every step counts
    expect(seq.forward(s).toArray().slice(0, 3)).toEqual([30 / 5, 35 / 5, 40 / 5]);
  });

  it('trains in a run: checkpoints with a torch.jit.load-able encoder, eval, diagnose, resume and purify from them', async () => {
    const d = tempDir();
    runPython(`${ENCODER}
torch.manual_seed(0)
torch.jit.save(torch.jit.script(Enc(12)), d + '/enc.pt')
`, [d]);
    const data = `folder:${writeTinyDataset()}`;
    const out = join(d, 'run');
    const cfg: Partial<RunConfig> = { data, method: 'gmm-adaptive', epochs: 3, warmup: 1, batchSize: 16, optimizer: 'sgd', lr: 0.05, width: 4, threads: 1, seed: 1,
      encoder: `audio=torchscript:${join(d, 'enc.pt')}` };
    const s = await trainRun(cfg, { outDir: out });
    expect(s.val.acc).toBeGreaterThan(0.5);
    const file = join(out, 'checkpoints', 'best.encoder_audio.pt');
    expect(existsSync(file)).toBe(true);
    const ck = pickPrefix(loadSafetensors(join(out, 'checkpoints', 'best.safetensors')).tensors, 'model.encoder_audio.');
    saveSafetensors(join(d, 'ck.st'), ck);
    // Python reads the file back: its state_dict is the checkpoint's encoder, name for name.
    const same = runPython(`${ENCODER}
ck = load(d + '/ck.st')
sd = torch.jit.load(d + '/run/checkpoints/best.encoder_audio.pt').state_dict()
print(json.dumps({'names': sorted(sd) == sorted(ck), 'equal': all(torch.equal(sd[k], ck[k]) for k in ck)}))
`, [d]);
    expect(JSON.parse(same)).toEqual({ names: true, equal: true });
    const ev = await evaluateRun(out, 'test');
    expect(ev.scores.acc).toBeCloseTo(s.test.acc, 12);
    const dg = await diagnoseRun(out, 'val');
    expect(dg.samples).toHaveLength(15);

    // Stopped after its first epoch and resumed, the same run ends with the same numbers (times and memory aside).
    const stopped = join(d, 'stopped');
    const ctrl = new AbortController();
    await expect(trainRun(cfg, { outDir: stopped, signal: ctrl.signal, onEvent: (e) => { if (e.kind === 'epoch') ctrl.abort(); } })).rejects.toThrow(/stopped during epoch 2/);
    const resumed = await trainRun(cfg, { outDir: stopped });
    const metrics = (dir: string): unknown[] => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')
      .map((l) => { const { seconds: _s, gapSeconds: _g, data: _d, memory: _m, ...rest } = JSON.parse(l) as EpochMetrics; return rest; });
    expect(metrics(stopped)).toEqual(metrics(out));
    expect(resumed.test).toEqual(s.test);

    // Purified after the fact: fine-tuned encoder weights go back to PyTorch too.
    const p = await purifyRun(out, { epochs: 1, keep: 'soft' });
    expect(p.purification?.selectedEpoch).toBe(4);
    expect(existsSync(join(out, 'checkpoints', 'purified.encoder_audio.pt'))).toBe(true);
  });

  it('says which file and which input shape when a module does not fit', () => {
    const d = tempDir();
    runPython(`${ENCODER}
class Rgb(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
    def forward(self, x):
        return self.conv(x).flatten(1)
torch.jit.save(torch.jit.script(Rgb()), d + '/rgb.pt')
class Pair(nn.Module):
    def forward(self, x):
        return x.flatten(1), x
torch.jit.save(torch.jit.script(Pair()), d + '/pair.pt')
class Flat(nn.Module):
    def forward(self, x):
        return x.sum()
torch.jit.save(torch.jit.script(Flat()), d + '/flat.pt')
class Mean(nn.Module):
    def forward(self, x):
        return x.mean(1)
torch.jit.save(torch.jit.script(Mean()), d + '/mean.pt')
`, [d]);
    writeFileSync(join(d, 'junk.pt'), 'not a zip archive');
    const image = { name: 'visual', shape: [1, 12, 12] };
    const oneLine = (f: () => unknown, ...parts: RegExp[]): void => {
      let msg = '';
      try { f(); } catch (e) { msg = (e as Error).message; }
      expect(msg.split('\n')).toHaveLength(1);
      for (const p of parts) expect(msg).toMatch(p);
    };
    oneLine(() => new TorchScriptEncoder(join(d, 'junk.pt'), image), /junk\.pt/, /not a TorchScript module/, /torch\.jit\.save/);
    oneLine(() => new TorchScriptEncoder(join(d, 'rgb.pt'), image), /rgb\.pt: forward failed on \[2, 1, 12, 12\] float32/, /3 channels|channels/, /batch \[N, 1, 12, 12\] float32/);
    oneLine(() => new TorchScriptEncoder(join(d, 'pair.pt'), image), /pair\.pt: forward failed/, /not one Tensor/);
    oneLine(() => new TorchScriptEncoder(join(d, 'flat.pt'), image), /flat\.pt: forward returned \[\] for a batch of 2, not features \[N, D\]/);
    // The config keeps the file's absolute path (eval and purify may run elsewhere), the rest as given.
    const rel = relative(process.cwd(), join(d, 'rgb.pt'));
    expect(rel.startsWith('/')).toBe(false);
    expect(resolveConfig({ encoder: `visual = gru, audio=torchscript:${rel}` }, METHODS).encoder).toBe(`visual = gru, audio=torchscript:${join(d, 'rgb.pt')}`);
    // A missing file fails at config validation, before libtorch starts.
    expect(() => resolveConfig({ encoder: `audio=torchscript:${join(d, 'none.pt')}` }, METHODS)).toThrow(/TorchScript file .*none\.pt does not exist/);
    // A masked sequence needs a forward that takes lengths.
    expect(() => buildModel([{ name: 'audio', shape: [5, 3], length: { steps: 5, crop: 'centre', mask: true } }], 2,
      { encoder: `torchscript:${join(d, 'mean.pt')}`, fusion: 'concat', width: 4 })).toThrow(/padded with a mask.*TorchScript forward\(self, x, lengths\)/);
  });

  it('train as 2 ranks (DDP over their parameters) as in one process', async () => {
    const d = tempDir();
    // No BatchNorm: per-rank statistics differ from one process's by design.
    runPython(`${ENCODER}
class NoBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 9, 8)
    def forward(self, x):
        return self.fc(nn.functional.adaptive_avg_pool2d(torch.relu(self.conv(x)), 3).flatten(1))
torch.manual_seed(0)
torch.jit.save(torch.jit.script(NoBN()), d + '/nobn.pt')
`, [d]);
    const cfg = { data: `folder:${writeTinyDataset()}`, method: 'gmm-adaptive', epochs: 2, warmup: 1, batchSize: 16, optimizer: 'sgd', lr: 0.05,
      threads: 1, seed: 2, schedule: 'none', weightDecay: 0, encoder: `torchscript:${join(d, 'nobn.pt')}` };
    const rank = (out: string, r: number, world: number, port: number): Promise<{ status: number | null; stderr: string }> => new Promise((res) => {
      const c = spawn(process.execPath, [fileURLToPath(new URL('../helpers/train-rank.mjs', import.meta.url)), JSON.stringify(cfg), out, String(r), String(world), String(port)],
        { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GLOG_minloglevel: '3' } });
      let stderr = '';
      c.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
      c.on('close', (status) => res({ status, stderr }));
    });
    const [one, two] = [join(d, 'one'), join(d, 'two')];
    const port = await freePort();
    const outs = await Promise.all([rank(one, 0, 1, 0), rank(two, 0, 2, port), rank(two, 1, 2, port)]);
    for (const o of outs) expect(o.status, o.stderr).toBe(0);
    const weights = (out: string): Map<string, Tensor> => pickPrefix(loadSafetensors(join(out, 'checkpoints', 'last.safetensors')).tensors, 'model.');
    const a = weights(one), b = weights(two);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    expect([...a.keys()].filter((k) => k.startsWith('encoder_audio.'))).toHaveLength(4);
    // float32: the ranks reduce the same gradients in another order (as test/train/distributed.test.ts).
    for (const [k, t] of a) expect(relErr(b.get(k)!, t), k).toBeLessThan(1e-4);
  });
});
