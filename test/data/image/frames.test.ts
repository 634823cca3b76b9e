import { describe, expect, it } from 'vitest';
import { listFrames } from '../../../src/data/image/frames.js';
import { pickFrames } from '../../../src/data/steps.js';
import { centreSquare, randomResizedCropBox } from '../../../src/data/image/transforms.js';
import { Rng } from '../../../src/data/rng.js';
import { frameFolder, tempDir } from '../helpers/fixtures.js';

describe('frame choice and crops', () => {
  it('evaluation takes the centre frame of each of k equal segments; training a random one inside it', () => {
    expect(pickFrames(10, 3, null)).toEqual([1, 5, 8]);
    expect(pickFrames(9, 3, null)).toEqual([1, 4, 7]);
    expect(pickFrames(2, 3, null)).toEqual([0, 1, 1]);
    expect(pickFrames(1, 2, null)).toEqual([0, 0]);
    const rng = new Rng('frames');
    for (let trial = 0; trial < 200; trial++) {
      const p = pickFrames(10, 3, rng);
      expect(p[0]).toBeLessThan(4);
      expect(p[1] >= 3 && p[1] < 7).toBe(true);
      expect(p[2] >= 6 && p[2] < 10).toBe(true);
    }
    expect(pickFrames(30, 3, new Rng(1, 2, 'x'))).toEqual(pickFrames(30, 3, new Rng(1, 2, 'x')));
  });

  it('lists frames in natural order and rejects missing or empty folders by name', async () => {
    const dir = tempDir('frames');
    frameFolder(dir, 12, 0, (i) => `frame_${i + 1}.jpg`);
    const files = await listFrames(dir);
    expect(files.map((f) => f.split('/').pop()).slice(8, 11)).toEqual(['frame_9.jpg', 'frame_10.jpg', 'frame_11.jpg']);
    await expect(listFrames(`${dir}/nope`)).rejects.toThrow(`${dir}/nope: frame folder is missing or unreadable`);
    const empty = tempDir('empty');
    await expect(listFrames(empty)).rejects.toThrow(`${empty}: frame folder holds no .jpg/.png frames`);
  });

  it('random resized crops stay inside the image, cover 8-100 % of it, and are seeded', () => {
    const rng = new Rng('rrc');
    for (let i = 0; i < 500; i++) {
      const b = randomResizedCropBox(320, 240, rng);
      expect(b.x >= 0 && b.y >= 0 && b.x + b.width <= 320 && b.y + b.height <= 240).toBe(true);
      expect((b.width * b.height) / (320 * 240)).toBeGreaterThan(0.07);
      expect(b.width / b.height).toBeGreaterThan(0.7);
      expect(b.width / b.height).toBeLessThan(1.4);
    }
    expect(centreSquare(320, 240)).toEqual({ x: 40, y: 0, width: 240, height: 240 });
  });
});
