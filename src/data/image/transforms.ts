/** The crop boxes of the community's ResNet18 frame pipelines, seeded (the pixel work is the image addon's renderFrame). */
import type { Rng } from '../rng.js';
import type { Box } from './resize.js';

/** ImageNet channel statistics (torchvision's Normalize in all peer pipelines). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/** The evaluation crop: the centred square of side min(width, height) (= resize the shorter side, then centre-crop). */
export function centreSquare(width: number, height: number): Box {
  const side = Math.min(width, height);
  return { x: (width - side) / 2, y: (height - side) / 2, width: side, height: side };
}

/**
 * torchvision RandomResizedCrop's box: area fraction in `scale`, aspect ratio log-uniform in
 * `ratio`, 10 tries, then a centre crop clamped to the ratio range.
 */
export function randomResizedCropBox(width: number, height: number, rng: Rng, scale = [0.08, 1], ratio = [3 / 4, 4 / 3]): Box {
  const area = width * height;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      return { x: rng.uniformInt(width - w + 1), y: rng.uniformInt(height - h + 1), width: w, height: h };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), width: w, height: h };
}
