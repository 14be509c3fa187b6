#!/usr/bin/env bash
# System packages the test suite needs (Debian 12):
#   chromium     — SwiftShader's Vulkan driver for WebGPU without a GPU, and the headless browser
#                  for the browser-webgpu / browser-wasm backends
#   python3-onnx — the official ONNX checker, used as a test oracle (the product needs no Python)
#   libonnx-testdata — the ONNX project's backend test data (node tests and small models with
#                  inputs and expected outputs): test/onnx/conformance.test.ts
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
/usr/bin/python3 -c 'import onnx' 2>/dev/null || need+=(python3-onnx)
[ -d /usr/share/libonnx-testdata/data/node ] || need+=(libonnx-testdata)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
echo "system packages ready: chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), python3-onnx $(/usr/bin/python3 -c 'import onnx; print(onnx.__version__)'), libonnx-testdata $(dpkg-query -W -f='${Version}' libonnx-testdata 2>/dev/null)"
