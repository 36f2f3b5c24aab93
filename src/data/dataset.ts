// The in-memory labelled image set every reader produces and every trainer consumes.

/** NHWC float pixels in [0, 1]; labels are class indices into `classes`. */
export interface Dataset {
  name: string;
  images: Float32Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  classes: string[];
}

export function imageSize(d: Pick<Dataset, "height" | "width" | "channels">): number {
  return d.height * d.width * d.channels;
}
