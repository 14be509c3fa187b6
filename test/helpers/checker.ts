/** The official ONNX checker (Debian's python3-onnx, installed by .ci/run) as a test oracle. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PY = '/usr/bin/python3';
const SCRIPT = 'import onnx, sys\nm = onnx.load(sys.argv[1])\nonnx.checker.check_model(m, full_check=True)\nprint("ok", m.opset_import[0].version)';

/** Runs onnx.checker.check_model(full_check=True); returns its stdout or throws with its message. */
export function onnxCheck(bytes: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'vitx-check-'));
  try {
    const f = join(dir, 'm.onnx');
    writeFileSync(f, bytes);
    return execFileSync(PY, ['-c', SCRIPT, f], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`onnx.checker failed: ${(err.stderr ?? err.message).trim().split('\n').slice(-1)[0]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
