// Training-time augmentation: a small random affine map (shift, rotation, scale) per image,
// resampled bilinearly with zeros outside, so a 7×7 net sees the sub-pixel jitter that its
// coarse grid otherwise hides.

/** Mutates a batch of `count` NHWC images in place (deterministic given `random`). */
export type Augment = (
  images: Float32Array,
  count: number,
  shape: [number, number, number],
  random: () => number,
) => void;

export interface AffineJitter {
  /** Largest shift, as a fraction of the image side (1/14 ≈ 2 px at 28×28, 0.5 px at 7×7). */
  shift: number;
  /** Largest rotation in degrees. */
  rotate: number;
  /** Largest relative change of scale. */
  scale: number;
}

export const DEFAULT_JITTER: AffineJitter = { shift: 1 / 14, rotate: 10, scale: 0.1 };

/** Resamples one H×W×C image through the inverse of the affine map (a, b; c, d) + (tx, ty). */
function warp(
  source: Float32Array,
  target: Float32Array,
  [h, w, c]: [number, number, number],
  m: { a: number; b: number; c: number; d: number; tx: number; ty: number },
): void {
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  target.fill(0);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dy = y - cy - m.ty;
      const dx = x - cx - m.tx;
      const sy = m.a * dy + m.b * dx + cy;
      const sx = m.c * dy + m.d * dx + cx;
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const fy = sy - y0;
      const fx = sx - x0;
      for (let k = 0; k < 4; k++) {
        const yy = y0 + (k >> 1);
        const xx = x0 + (k & 1);
        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
        const weight = (k >> 1 ? fy : 1 - fy) * (k & 1 ? fx : 1 - fx);
        if (weight === 0) continue;
        const from = (yy * w + xx) * c;
        const to = (y * w + x) * c;
        for (let ch = 0; ch < c; ch++) target[to + ch] += weight * source[from + ch];
      }
    }
  }
}

/** An Augment that jitters every image of a batch by a random affine map within `jitter`. */
export function affineJitter(jitter: AffineJitter = DEFAULT_JITTER): Augment {
  return (images, count, shape, random) => {
    const [h, w, c] = shape;
    const size = h * w * c;
    const copy = new Float32Array(size);
    const uniform = () => 2 * random() - 1;
    for (let i = 0; i < count; i++) {
      const image = images.subarray(i * size, (i + 1) * size);
      copy.set(image);
      const angle = (uniform() * jitter.rotate * Math.PI) / 180;
      const zoom = 1 + uniform() * jitter.scale;
      const cos = Math.cos(angle) / zoom;
      const sin = Math.sin(angle) / zoom;
      warp(copy, image, shape, {
        a: cos,
        b: -sin,
        c: sin,
        d: cos,
        ty: uniform() * jitter.shift * h,
        tx: uniform() * jitter.shift * w,
      });
    }
  };
}
