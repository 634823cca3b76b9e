// ResNet18 forward and backward on fixed weights and inputs equal PyTorch's (torchvision's
// resnet18 in python3-torch) within 1e-4 relative (max |ours - theirs| / max |theirs|, per tensor).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { nn, manualSeed, randn, randint, tensor, loadSafetensors, saveSafetensors, noGrad } from '../../src/torch/index.js';
import { relErr } from '../helpers/compare.js';
import { runPython, tempDir } from '../helpers/python.js';


const REFERENCE = `
import sys, torch, torch.nn as nn, torchvision
from st import load, save
torch.set_num_threads(1)
d = sys.argv[1]
inp = load(d + '/in.st')
in_ch = inp['x'].shape[1]
m = torchvision.models.resnet18(num_classes=10)
m.conv1 = nn.Conv2d(in_ch, 64, kernel_size=7, stride=2, padding=3, bias=False)
m.load_state_dict(load(d + '/weights.st'))
m.train()
x = inp['x'].clone().requires_grad_(True)
logits = m(x)
loss = nn.functional.cross_entropy(logits, inp['y'])
loss.backward()
out = {'logits': logits, 'x_grad': x.grad, 'loss': loss.reshape(1)}
for n, p in m.named_parameters():
    out['grad.' + n] = p.grad
for n, b in m.named_buffers():
    out['buf.' + n] = b
m.eval()
with torch.no_grad():
    out['eval_logits'] = m(inp['x'])
save(d + '/out.st', out)
`;

describe('ResNet18 matches torchvision', () => {
  for (const inChannels of [1, 3]) {
    it(`forward, backward and BN statistics with ${inChannels} input channel(s)`, () => {
      manualSeed(inChannels);
      const model = new nn.ResNet18({ inChannels, numClasses: 10 });
      const x = randn([4, inChannels, 64, 64]);
      const y = randint(0, 10, [4]);
      const dir = tempDir();
      saveSafetensors(join(dir, 'weights.st'), model.stateDict());
      saveSafetensors(join(dir, 'in.st'), { x, y });
      runPython(REFERENCE, [dir]);
      const ref = loadSafetensors(join(dir, 'out.st')).tensors;

      const xg = x.clone().requiresGrad_();
      const logits = model.forward(xg);
      const loss = nn.F.crossEntropy(logits, y);
      loss.backward();
      expect(relErr(logits, ref.get('logits')!)).toBeLessThan(1e-4);
      expect(relErr(loss.reshape([1]), ref.get('loss')!)).toBeLessThan(1e-4);
      expect(relErr(xg.grad!, ref.get('x_grad')!)).toBeLessThan(1e-4);
      let checked = 0;
      for (const [name, p] of model.namedParameters()) {
        const e = relErr(p.grad!, ref.get('grad.' + name)!);
        expect(e, name).toBeLessThan(1e-4);
        checked++;
      }
      expect(checked).toBe(62);
      for (const [name, b] of model.namedBuffers()) expect(relErr(b, ref.get('buf.' + name)!), name).toBeLessThan(1e-4);
      model.eval();
      const evalLogits = noGrad(() => model.forward(x));
      expect(relErr(evalLogits, ref.get('eval_logits')!)).toBeLessThan(1e-4);
      // The comparison itself can fail: a perturbed weight must break it.
      noGrad(() => model.conv1.weight.add_(tensor([1e-2])));
      expect(relErr(noGrad(() => model.forward(x)), ref.get('eval_logits')!)).toBeGreaterThan(1e-4);
    });
  }
});
