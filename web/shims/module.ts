/** Browser stand-in for `node:module`'s createRequire, for src/onnx/proto.ts only (see README.md). */
import * as onnxProto from 'onnx-proto';

export function createRequire(_url: string): (id: string) => unknown {
  return (id: string) => {
    if (id === 'onnx-proto') return onnxProto;
    throw new Error(`require('${id}') is not available in the browser build`);
  };
}
