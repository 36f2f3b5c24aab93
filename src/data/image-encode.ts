// PNG encoding (with sharp, like image.ts decodes): raw 8-bit pixel buffers scaled up by whole
// pixels for contact sheets, and SVG rasterised for plots, so no other layer imports sharp.
import sharp from "sharp";

/** Encodes H×W×C 8-bit pixels (C = 1 grey or 3 RGB), each pixel drawn as a scale×scale block. */
export function encodePng(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3,
  scale = 1,
): Promise<Buffer> {
  const image = sharp(pixels, { raw: { width, height, channels } }).resize(
    width * scale,
    height * scale,
    { kernel: "nearest" },
  );
  return (channels === 1 ? image.toColourspace("b-w") : image).png().toBuffer();
}

/** Rasterises an SVG document to PNG at its own size. */
export function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}
