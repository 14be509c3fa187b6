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
  /** Environment to give a child process so that it sees the same driver. */
  childEnv: Record<string, string>;
}

let prepared: WebGpuEnv | null = null;

function hasSystemIcd(): boolean {
  return ICD_DIRS.some((d) => {
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

/** The one-line advice when no adapter could be found. */
export function noAdapterMessage(name: string): string {
  return `${name}: no WebGPU adapter — install chromium for SwiftShader (apt-get install chromium) or run on a GPU`;
}
