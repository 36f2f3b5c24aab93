// Image resizing on NHWC float arrays: area averaging (antialiased, the default) or a plain
// bilinear sampler (PyTorch's F.interpolate bilinear, align_corners=False, no antialias).
import type { Dataset } from "./dataset.js";

export type ResizeMethod = "area" | "bilinear";
export const RESIZE_METHODS: readonly ResizeMethod[] = ["area", "bilinear"];

/** For each output index along one axis: the input indices it reads and their weights. */
interface AxisWeights {
  index: Int32Array[];
  weight: Float64Array[];
}

/** Box filter: each output pixel averages the input interval it covers, by overlap. */
function areaWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const index: Int32Array[] = [];
  const weight: Float64Array[] = [];
  for (let o = 0; o < outSize; o++) {
    const start = o * scale;
    const end = start + scale;
    const first = Math.floor(start);
    const last = Math.min(Math.ceil(end), inSize);
    const idx: number[] = [];
    const w: number[] = [];
    for (let i = first; i < last; i++) {
      const overlap = Math.min(end, i + 1) - Math.max(start, i);
      if (overlap > 1e-12) {
        idx.push(i);
        w.push(overlap / scale);
      }
    }
    index.push(Int32Array.from(idx));
    weight.push(Float64Array.from(w));
  }
  return { index, weight };
}

/** Two-tap linear interpolation at half-pixel centres, clamped at the edges. */
function bilinearWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const index: Int32Array[] = [];
  const weight: Float64Array[] = [];
  for (let o = 0; o < outSize; o++) {
    const src = Math.max((o + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const t = src - i0;
    index.push(Int32Array.from([i0, i1]));
    weight.push(Float64Array.from([1 - t, t]));
  }
  return { index, weight };
}

function axisWeights(method: ResizeMethod, inSize: number, outSize: number): AxisWeights {
  return method === "area" ? areaWeights(inSize, outSize) : bilinearWeights(inSize, outSize);
}

/** Resizes `count` NHWC images of inH×inW×channels to outH×outW (separable, rows then columns). */
export function resizeImages(
  images: Float32Array,
  count: number,
  inH: number,
  inW: number,
  channels: number,
  outH: number,
  outW: number,
  method: ResizeMethod = "area",
): Float32Array {
  if (!Number.isInteger(outH) || !Number.isInteger(outW) || outH < 1 || outW < 1) {
    throw new RangeError(`resize: output size ${outH}×${outW} must be positive integers`);
  }
  if (images.length !== count * inH * inW * channels) {
    throw new RangeError(
      `resize: ${images.length} values do not hold ${count} images of ${inH}×${inW}×${channels}`,
    );
  }
  const rows = axisWeights(method, inH, outH);
  const cols = axisWeights(method, inW, outW);
  const out = new Float32Array(count * outH * outW * channels);
  const tmp = new Float64Array(outH * inW * channels);
  const inImage = inH * inW * channels;
  const outImage = outH * outW * channels;
  const acc = new Float64Array(channels);
  for (let n = 0; n < count; n++) {
    const src = n * inImage;
    for (let oy = 0; oy < outH; oy++) {
      const ri = rows.index[oy];
      const rw = rows.weight[oy];
      for (let x = 0; x < inW; x++) {
        acc.fill(0);
        for (let k = 0; k < ri.length; k++) {
          const base = src + (ri[k] * inW + x) * channels;
          for (let c = 0; c < channels; c++) acc[c] += rw[k] * images[base + c];
        }
        tmp.set(acc, (oy * inW + x) * channels);
      }
    }
    const dst = n * outImage;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const ci = cols.index[ox];
        const cw = cols.weight[ox];
        acc.fill(0);
        for (let k = 0; k < ci.length; k++) {
          const base = (oy * inW + ci[k]) * channels;
          for (let c = 0; c < channels; c++) acc[c] += cw[k] * tmp[base + c];
        }
        for (let c = 0; c < channels; c++) out[dst + (oy * outW + ox) * channels + c] = acc[c];
      }
    }
  }
  return out;
}

/** A copy of the dataset with every image resized; the name is kept. */
export function resizeDataset(
  d: Dataset,
  height: number,
  width: number,
  method: ResizeMethod = "area",
): Dataset {
  const images = resizeImages(
    d.images,
    d.count,
    d.height,
    d.width,
    d.channels,
    height,
    width,
    method,
  );
  return { ...d, images, height, width };
}
