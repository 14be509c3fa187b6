/**
 * Where onnxruntime-node's WebGPU execution provider (Dawn on Vulkan, on Linux) finds a driver.
 *
 * A machine with a GPU has a Vulkan loader (libvulkan.so.1) and an installable client driver (ICD,
 * a JSON file under /usr/share/vulkan/icd.d or /etc/vulkan/icd.d): nothing to do. A machine
 * without one can still run WebGPU on SwiftShader, the CPU Vulkan driver that Debian's `chromium`
 * package ships in /usr/lib/chromium together with its own Vulkan loader:
 *
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json   the driver
 *   XDG_RUNTIME_DIR=<a private temporary folder>                  Dawn wants one for its caches
 *   libvulkan.so.1 from /usr/lib/chromium                          when the system has no loader
 *
 * Environment variables the user set are respected. The loader is preloaded into this process
 * (dlopen with RTLD_NODELETE), because the dynamic linker reads LD_LIBRARY_PATH only at start-up.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_LIB_DIR = '/usr/lib/chromium';
export const SWIFTSHADER_ICD = `${CHROMIUM_LIB_DIR}/vk_swiftshader_icd.json`;
const CHROMIUM_LOADER = `${CHROMIUM_LIB_DIR}/libvulkan.so.1`;
const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
const LOADER_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64'];
/** glibc's RTLD_NODELETE (Node does not export it): keeps the loader mapped after process.dlopen. */
const RTLD_NODELETE = 0x1000;

export interface WebGpuEnv {
  /** Which Vulkan driver Dawn will see. */
  driver: 'user' | 'system' | 'swiftshader' | 'none';
  /** Set when SwiftShader replaced the system driver because that gave no adapter. */
  fellBackFrom?: 'system';
  /** Environment to give a child process so that it sees the same driver. */
  childEnv: Record<string, string>;
}

let prepared: WebGpuEnv | null = null;

/**
 * The folders the Vulkan loader searches for ICD files on Linux: $XDG_CONFIG_DIRS/vulkan/icd.d
 * (default /etc/xdg), $XDG_DATA_DIRS/vulkan/icd.d (default /usr/local/share:/usr/share), then
 * /etc/vulkan/icd.d and the fixed folders above.
 */
export function icdSearchDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const split = (v: string | undefined, dflt: string) => (v || dflt).split(':').filter(Boolean);
  const xdg = [...split(env['XDG_CONFIG_DIRS'], '/etc/xdg'), ...split(env['XDG_DATA_DIRS'], '/usr/local/share:/usr/share')];
  return [...new Set([...xdg.map((d) => join(d, 'vulkan', 'icd.d')), ...ICD_DIRS])];
}

function hasSystemIcd(): boolean {
  return icdSearchDirs().some((d) => {
    try { return readdirSync(d).some((f) => f.endsWith('.json')); } catch { return false; }
  });
}

function hasSystemLoader(): boolean {
  return LOADER_DIRS.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

/** Sets up this process's environment for the WebGPU execution provider (idempotent). */
export function prepareWebGpuEnv(): WebGpuEnv {
  if (prepared) return prepared;
  const env = process.env;
  const childEnv: Record<string, string> = {};
  let driver: WebGpuEnv['driver'];
  if (env['VK_ICD_FILENAMES'] || env['VK_DRIVER_FILES']) driver = 'user';
  else if (hasSystemIcd()) driver = 'system';
  else if (existsSync(SWIFTSHADER_ICD)) {
    driver = 'swiftshader';
    env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
    childEnv['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
  } else driver = 'none';
  if (!env['XDG_RUNTIME_DIR']) {
    const dir = mkdtempSync(join(tmpdir(), 'vitx-xdg-'));
    env['XDG_RUNTIME_DIR'] = dir;
    childEnv['XDG_RUNTIME_DIR'] = dir;
    process.once('exit', () => { try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ } });
  }
  if (process.platform === 'linux' && !hasSystemLoader() && existsSync(CHROMIUM_LOADER)) {
    childEnv['LD_LIBRARY_PATH'] = env['LD_LIBRARY_PATH'] ? `${CHROMIUM_LIB_DIR}:${env['LD_LIBRARY_PATH']}` : CHROMIUM_LIB_DIR;
    try {
      const flags = osConstants.dlopen.RTLD_NOW! | osConstants.dlopen.RTLD_GLOBAL! | RTLD_NODELETE;
      process.dlopen({ exports: {} } as NodeJS.Module, CHROMIUM_LOADER, flags);
    } catch {
      // "Module did not self-register": expected, the library is not a Node addon but stays loaded.
    }
  }
  prepared = { driver, childEnv };
  return prepared;
}

/**
 * When the system's Vulkan drivers give no adapter (e.g. Mesa's drivers installed on a machine
 * without a GPU), SwiftShader from chromium is the fallback: the environment for it, or null when
 * there is none or the driver was not the system's (a user's VK_ICD_FILENAMES is respected).
 */
export function swiftShaderFallback(env: WebGpuEnv): WebGpuEnv | null {
  if (env.driver !== 'system' || !existsSync(SWIFTSHADER_ICD)) return null;
  // VK_DRIVER_FILES is the newer name and wins over VK_ICD_FILENAMES: set both.
  return { driver: 'swiftshader', fellBackFrom: 'system', childEnv: { ...env.childEnv, VK_ICD_FILENAMES: SWIFTSHADER_ICD, VK_DRIVER_FILES: SWIFTSHADER_ICD } };
}

/** Makes `env` (a fallback that a probe accepted) this process's WebGPU environment. */
export function useWebGpuEnv(env: WebGpuEnv): void {
  Object.assign(process.env, env.childEnv);
  prepared = env;
}

/** The one-line advice when no adapter could be found. */
export function noAdapterMessage(name: string): string {
  return `${name}: no WebGPU adapter — install chromium for SwiftShader (apt-get install chromium) or run on a GPU`;
}
