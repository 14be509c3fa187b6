/** onnxruntime (CPU, CUDA, DirectML …): every standard op; the lint only reports dynamic inputs. */
import { checkDynamic } from './lint.js';
import type { TargetProfile } from './profile.js';

export const ort: TargetProfile = {
  name: 'ort',
  description: 'onnxruntime (any execution provider): opset 17, no restrictions',
  opset: 17,
  passes: [],
  lint(g) {
    return checkDynamic(g, 'info', 'info', 'onnxruntime accepts any size there');
  },
};
