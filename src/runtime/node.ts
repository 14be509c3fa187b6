/**
 * `cpu` and `webgpu` backends: onnxruntime-node with its CPU or bundled WebGPU execution provider.
 *
 * Before the WebGPU provider is used in this process, a child process tries it on a tiny model:
 * Dawn prints its driver diagnostics on stderr and may abort when no adapter exists, and neither
 * should reach the user — they get one line saying why and what to do. When the system's Vulkan
 * driver gives no adapter, SwiftShader (chromium's) is probed next and used if it works; the
 * backend's description says which driver runs.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { type Backend, BackendUnavailableError, firstLine } from './backend.js';
import { createSession, loadOrt, OrtMissingError, runSession } from './ort.js';
import { checkProbe, probeModel } from './probe.js';
import { noAdapterMessage, prepareWebGpuEnv, swiftShaderFallback, useWebGpuEnv, type WebGpuEnv } from './webgpu-env.js';

const PROBE_SCRIPT = `
const [url, b64] = process.argv.slice(1);
const m = await import(url);
const ort = m.default ?? m;
try {
  const s = await ort.InferenceSession.create(Buffer.from(b64, 'base64'), { executionProviders: ['webgpu'], graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
  const r = await s.run({ x: new ort.Tensor('float32', Float32Array.of(-1, 0.5, 2, -3), [1, 4]) });
  process.stdout.write('vitx-probe-ok ' + JSON.stringify(Array.from(r.y.data)) + '\\n');
  await s.release();
  process.exit(0);
} catch (e) {
  process.stdout.write('vitx-probe-error ' + String(e && e.message || e).replace(/\\s+/g, ' ') + '\\n');
  process.exit(3);
}`;

function describeDriver(env: WebGpuEnv): string {
  switch (env.driver) {
    case 'swiftshader': return env.fellBackFrom ? 'SwiftShader Vulkan (chromium), because the system Vulkan driver gives no adapter' : 'SwiftShader Vulkan (chromium)';
    case 'system': return 'system Vulkan driver';
    case 'user': return `Vulkan driver from VK_ICD_FILENAMES/VK_DRIVER_FILES`;
    case 'none': return 'no Vulkan driver found';
  }
}

/** Runs the WebGPU provider once in a child process; throws BackendUnavailableError with the reason. */
function probeWebGpu(env: WebGpuEnv): void {
  const require = createRequire(import.meta.url);
  const url = pathToFileURL(require.resolve('onnxruntime-node')).href;
  const b64 = Buffer.from(probeModel()).toString('base64');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE_SCRIPT, url, b64], {
    env: { ...process.env, ...env.childEnv }, encoding: 'utf8', timeout: 120_000, maxBuffer: 8 << 20,
  });
  const out = r.stdout ?? '';
  const ok = /^vitx-probe-ok (.*)$/m.exec(out);
  if (ok && checkProbe(JSON.parse(ok[1]!) as number[])) return;
  if (ok) throw new BackendUnavailableError(`webgpu: the WebGPU provider computes wrong results on this adapter (${ok[1]})`);
  const err = /^vitx-probe-error (.*)$/m.exec(out)?.[1] ?? '';
  const stderr = r.stderr ?? '';
  if (/adapter/i.test(err) || /adapter|vulkan/i.test(stderr) || env.driver === 'none') throw new BackendUnavailableError(noAdapterMessage('webgpu'));
  if (r.error) throw new BackendUnavailableError(`webgpu: probe failed (${firstLine(r.error)})`);
  const why = err || firstLine(stderr) || (r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`);
  throw new BackendUnavailableError(`webgpu: the WebGPU provider does not start (${why})`);
}

export async function openNodeBackend(name: 'cpu' | 'webgpu'): Promise<Backend> {
  try {
    await loadOrt();
  } catch (e) {
    throw e instanceof OrtMissingError ? new BackendUnavailableError(`${name}: ${e.message}`) : e;
  }
  let description = 'onnxruntime-node, CPU execution provider';
  if (name === 'webgpu') {
    let env = prepareWebGpuEnv();
    try {
      probeWebGpu(env);
    } catch (e) {
      const fallback = swiftShaderFallback(env);
      if (!fallback) throw e;
      probeWebGpu(fallback);
      useWebGpuEnv(fallback);
      env = fallback;
    }
    description = `onnxruntime-node, WebGPU execution provider on ${describeDriver(env)}`;
  }
  return {
    name,
    description,
    async run(model, feeds, outputNames) {
      const s = await createSession(model, { ep: name });
      try {
        return await runSession(s, feeds, outputNames);
      } finally {
        await s.release();
      }
    },
    async close() { /* sessions are released after each run */ },
  };
}
