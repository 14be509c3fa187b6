/** Calibration / evaluation samples ([C, H, W] float32 each) and the held-out split; platform-free (data.ts reads them from files). */
export class DataError extends Error {}

export interface Samples {
  /** What was read, for reports: `5 images from fixtures/images/calibration`. */
  description: string;
  names: string[];
  shape: [number, number, number];
  data: Float32Array[];
}

/** Splits samples: every 4th (by order; the last when fewer than 4) is held out, the rest calibrate (needs ≥ 2 samples). */
export function splitHeldOut(s: Samples): { calibration: Samples; heldOut: Samples } {
  if (s.data.length < 2) throw new DataError(`need at least 2 calibration samples to hold some out for the fidelity report (or give --eval); got ${s.data.length}`);
  const pick = (keep: (i: number) => boolean, tag: string): Samples => {
    const idx = s.data.map((_, i) => i).filter(keep);
    return { description: `${idx.length} of ${s.description} (${tag})`, names: idx.map((i) => s.names[i]!), shape: s.shape, data: idx.map((i) => s.data[i]!) };
  };
  const held = (i: number) => i % 4 === 3 || (s.data.length < 4 && i === s.data.length - 1);
  return { calibration: pick((i) => !held(i), 'calibration'), heldOut: pick(held, 'held out: every 4th, or the last') };
}
