// Comparing two renders of the same view made by different rasterisers (lavapipe natively,
// SwiftShader in the browser): both are blurred a little, then compared per pixel.
import { PNG } from "pngjs";

/// The viewer's background (`app::BACKGROUND`, sRGB 0.08, 0.09, 0.11).
const BACKGROUND = [20, 23, 28];

function blurred(png, radius) {
  const { width, height, data } = png;
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let sum = [0, 0, 0];
      let n = 0;
      for (let dy = -radius; dy <= radius; dy++)
        for (let dx = -radius; dx <= radius; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
          const i = (yy * width + xx) * 4;
          sum[0] += data[i];
          sum[1] += data[i + 1];
          sum[2] += data[i + 2];
          n++;
        }
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = sum[c] / n;
    }
  return out;
}

function covered(png) {
  const { data } = png;
  let count = 0;
  for (let i = 0; i < data.length; i += 4)
    if (BACKGROUND.some((b, c) => Math.abs(data[i + c] - b) > 12)) count++;
  return count / (data.length / 4);
}

/// Fraction of pixels whose blurred colours differ by more than `tolerance` in a channel,
/// the fraction of non-background pixels of each, and a PNG marking the differences in red.
export function comparePng(aBytes, bBytes, { tolerance = 40, blur = 2 } = {}) {
  const a = PNG.sync.read(aBytes);
  const b = PNG.sync.read(bBytes);
  if (a.width !== b.width || a.height !== b.height)
    throw new Error(`sizes differ: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  const ba = blurred(a, blur);
  const bb = blurred(b, blur);
  const diff = new PNG({ width: a.width, height: a.height });
  let differing = 0;
  for (let p = 0; p < a.width * a.height; p++) {
    let worst = 0;
    for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(ba[p * 3 + c] - bb[p * 3 + c]));
    const bad = worst > tolerance;
    if (bad) differing++;
    const grey = (a.data[p * 4] + a.data[p * 4 + 1] + a.data[p * 4 + 2]) / 6;
    diff.data.set(bad ? [255, 0, 0, 255] : [grey, grey, grey, 255], p * 4);
  }
  return {
    differingFraction: differing / (a.width * a.height),
    coveredA: covered(a),
    coveredB: covered(b),
    diffPng: PNG.sync.write(diff),
  };
}
