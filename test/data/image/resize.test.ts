import { describe, expect, it } from 'vitest';
import { resizeRegion } from '../../../src/data/image/resize.js';
import { Rng } from '../../../src/data/rng.js';
import { maxAbsErr, pythonMissing, runPython } from '../helpers/python.js';

const rng = new Rng('resize');
const [C, H, W] = [3, 37, 53];
const img = Float32Array.from({ length: C * H * W }, () => rng.uniform());

describe.skipIf(pythonMissing !== null)('resizeRegion against torch.nn.functional.interpolate (bilinear, align_corners=False)', () => {
  for (const [oh, ow, antialias] of [
    [20, 24, true],
    [9, 50, true],
    [80, 101, false],
    [74, 106, true],
  ] as const) {
    it(`${H}x${W} -> ${oh}x${ow}, antialias ${antialias}: max abs error < 1e-5`, () => {
      const ours = resizeRegion(img, C, H, W, { x: 0, y: 0, width: W, height: H }, oh, ow, antialias);
      const ref = runPython(
        `import torch\nx = torch.from_numpy(load('x')).reshape(1, ${C}, ${H}, ${W})\nsave('y', torch.nn.functional.interpolate(x, size=(${oh}, ${ow}), mode='bilinear', align_corners=False, antialias=${antialias ? 'True' : 'False'}).numpy())`,
        { x: img },
        ['y'],
      ).y;
      expect(maxAbsErr(ours, ref.data)).toBeLessThan(1e-5);
    });
  }

  it('a crop box equals resizing the cropped image', () => {
    const ours = resizeRegion(img, C, H, W, { x: 7, y: 5, width: 30, height: 24 }, 16, 16, true);
    const ref = runPython(
      `import torch\nx = torch.from_numpy(load('x')).reshape(1, ${C}, ${H}, ${W})[:, :, 5:29, 7:37]\nsave('y', torch.nn.functional.interpolate(x, size=(16, 16), mode='bilinear', align_corners=False, antialias=True).numpy())`,
      { x: img },
      ['y'],
    ).y;
    expect(maxAbsErr(ours, ref.data)).toBeLessThan(1e-5);
  });
});
