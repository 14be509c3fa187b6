/**
 * Dropped photos → RGB pixels. JPEG goes through jpeg-js with the options src/quant/images.ts uses
 * in Node, so the pixels (and the network input) are the same bytes as the CLI's; PNG goes through
 * the browser's own decoder (createImageBitmap, no colour conversion), since pngjs needs Node's
 * zlib. Preprocessing is src/quant/images.ts's (timm's eval transform).
 */
import jpeg from 'jpeg-js';
import { ImageError, type RgbImage } from '../../../src/quant/images.js';

const MAX_PIXELS = 64 * 2 ** 20;

function rgb(w: number, h: number, rgba: Uint8Array | Uint8ClampedArray): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) { data[3 * i] = rgba[4 * i]!; data[3 * i + 1] = rgba[4 * i + 1]!; data[3 * i + 2] = rgba[4 * i + 2]!; }
  return { width: w, height: h, data };
}

export async function decodePhoto(bytes: Uint8Array, name: string): Promise<RgbImage> {
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  const isPng = bytes.length >= 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => bytes[i] === b);
  if (!isJpeg && !isPng) throw new ImageError(`image ${name}: not a JPEG or PNG file`);
  try {
    if (isJpeg) {
      const d = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 64, maxMemoryUsageInMB: 1024 });
      return rgb(d.width, d.height, d.data);
    }
    const bmp = await createImageBitmap(new Blob([bytes as BlobPart], { type: 'image/png' }), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    if (bmp.width * bmp.height > MAX_PIXELS) throw new ImageError(`${bmp.width}×${bmp.height} pixels is too large`);
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = c.getContext('2d')!;
    ctx.drawImage(bmp, 0, 0);
    return rgb(bmp.width, bmp.height, ctx.getImageData(0, 0, bmp.width, bmp.height).data);
  } catch (e) {
    if (e instanceof ImageError) throw new ImageError(`image ${name}: ${e.message}`);
    throw new ImageError(`image ${name}: cannot decode (${String((e as Error).message ?? e).split('\n')[0]})`);
  }
}
