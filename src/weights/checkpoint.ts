/**
 * A checkpoint file as users have them, read by content (never by file name): safetensors, or a
 * PyTorch zip checkpoint (.pth / .pth.tar / .pt / .bin), whose state dict may sit inside a training
 * checkpoint. The state dict is chosen as timm's `load_state_dict(use_ema=True)` does
 * (timm/models/_helpers.py): `state_dict_ema`, then `model_ema` (when not None), then
 * `state_dict`, then `model` (vitx adds `module`); `key` overrides. Key prefixes are removed as in
 * timm's `clean_state_dict`: `module.` (DDP), then `_orig_mod.` (torch.compile).
 */
import { Tensor } from '../graph/tensor.js';
import { CheckpointError } from './load.js';
import { Opaque, printable, PyDict, PyGlobal, type PyValue } from './pickle.js';
import { readSafetensors, SafetensorsError } from './safetensors.js';
import { LEGACY_ADVICE, looksLikeLegacyTorch, TensorRef, TorchArchive } from './torch.js';
import { looksLikeZip } from './zip.js';

export type CheckpointFormat = 'safetensors' | 'pytorch';

export interface LoadedCheckpoint {
  tensors: Map<string, Tensor>;
  format: CheckpointFormat;
  /** The entry the state dict was taken from (null: the file's top level). */
  key: string | null;
  /** Prefixes removed from the keys (`module.`, `_orig_mod.`), with how many keys had them. */
  stripped: [string, number][];
}

/** A CheckpointError whose text (which quotes names from the file) is one printable line. */
export function checkpointError(message: string): CheckpointError {
  return new CheckpointError(printable(message));
}

/** The default order of state-dict entries (timm's, EMA first), then vitx's additions. */
export const STATE_DICT_KEYS = ['state_dict_ema', 'model_ema', 'state_dict', 'model', 'module'] as const;

const PREFIXES = ['module.', '_orig_mod.'];

/** Bytes the materialized tensors may take beyond twice the file's size. */
const MATERIALIZE_SLACK = 64 * 2 ** 20;

/** timm's clean_state_dict: each prefix in turn, removed where a key starts with it. */
export function cleanKeys(tensors: Map<string, Tensor>): { tensors: Map<string, Tensor>; stripped: [string, number][] } {
  const counts = new Map<string, number>();
  const out = new Map<string, Tensor>();
  for (const [k0, t] of tensors) {
    let k = k0;
    for (const p of PREFIXES) if (k.startsWith(p)) { k = k.slice(p.length); counts.set(p, (counts.get(p) ?? 0) + 1); }
    if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(k0)) throw checkpointError(`key ${JSON.stringify(k0.slice(0, 200))} has control characters; no model parameter is named so`);
    if (out.has(k)) throw checkpointError(`key ${k0} collides with another key once its prefix is removed`);
    out.set(k, t);
  }
  return { tensors: out, stripped: [...counts] };
}

function describe(v: PyValue): string {
  if (v instanceof Opaque) return `a call to ${v.call} (not performed)`;
  if (v instanceof PyGlobal) return `a reference to ${v.qualified}`;
  if (v instanceof TensorRef) return 'a tensor';
  if (v instanceof PyDict) return `a ${v.kind} of ${v.map.size} entries`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return v === null ? 'None' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function isStateDict(v: PyValue): boolean {
  return v instanceof PyDict && v.map.size > 0 && [...v.map.values()].every((x) => x instanceof TensorRef);
}

function entryKeys(d: PyDict): string {
  const ks = [...d.map.keys()].filter((k) => typeof k === 'string') as string[];
  return ks.length ? ks.slice(0, 12).join(', ') + (ks.length > 12 ? ', …' : '') : '(none)';
}

/** Chooses the state dict inside a pickled checkpoint; returns it and the key path taken. */
function chooseStateDict(root: PyValue, what: string, key?: string): { dict: PyDict; key: string | null } {
  if (key !== undefined) {
    let v: PyValue = root;
    const path: string[] = [];
    for (const part of key.split('/')) {
      if (!(v instanceof PyDict) || !v.map.has(part)) {
        const where = path.length ? `'${path.join('/')}'` : 'the top level';
        throw checkpointError(`${what} has no entry '${part}' at ${where}; entries: ${v instanceof PyDict ? entryKeys(v) : describe(v)}`);
      }
      v = v.map.get(part)!;
      path.push(part);
    }
    if (!isStateDict(v)) throw checkpointError(`${what}: entry '${key}' is not a state dict of tensors (it is ${describe(v)})`);
    return { dict: v as PyDict, key };
  }
  let v: PyValue = root;
  const path: string[] = [];
  for (let depth = 0; depth < 4; depth++) {
    if (isStateDict(v)) return { dict: v as PyDict, key: path.length ? path.join('/') : null };
    if (!(v instanceof PyDict)) break;
    const d: PyDict = v;
    const k = STATE_DICT_KEYS.find((c) => d.map.has(c) && d.map.get(c) !== null);
    if (!k) break;
    v = d.map.get(k)!;
    path.push(k);
  }
  const at = path.length ? `entry '${path.join('/')}'` : 'its top-level object';
  if (v instanceof PyDict && !path.length && !isStateDict(v)) {
    const bad = [...v.map].find(([, x]) => !(x instanceof TensorRef) && !(x instanceof PyDict));
    if (v.map.size && [...v.map.values()].some((x) => x instanceof TensorRef) && bad) {
      throw checkpointError(`${what}: state dict entry ${String(bad[0])} is ${describe(bad[1])}, not a tensor`);
    }
    throw checkpointError(`${what}: no state dict found (entries: ${entryKeys(v)}); choose one with --checkpoint-key`);
  }
  if (v instanceof PyDict && [...v.map.values()].some((x) => x instanceof TensorRef)) {
    const bad = [...v.map].find(([, x]) => !(x instanceof TensorRef))!;
    throw checkpointError(`${what}: ${at} has entry ${String(bad[0])} that is ${describe(bad[1])}, not a tensor`);
  }
  throw checkpointError(`${what}: ${at} is ${describe(v)}, not a state dict of tensors${v instanceof Opaque ? ' (a pickled Python object: save model.state_dict() instead)' : ''}`);
}

export interface ReadCheckpointOptions {
  /** Entry holding the state dict (`a/b` for nested entries); default: timm's choice. */
  key?: string;
}

/** Reads a checkpoint file's bytes (any supported format) into timm-style keys → tensors. */
export function readCheckpoint(bytes: Uint8Array, what: string, o: ReadCheckpointOptions = {}): LoadedCheckpoint {
  if (looksLikeZip(bytes)) {
    const ar = new TorchArchive(bytes, what);
    const { dict, key } = chooseStateDict(ar.root, what, o.key);
    const raw = new Map<string, Tensor>();
    // tensors may share storages or repeat elements (stride 0); their total is bounded all the same
    const budget = 2 * bytes.byteLength + MATERIALIZE_SLACK;
    let total = 0;
    for (const [k, v] of dict.map) {
      if (typeof k !== 'string') throw checkpointError(`${what}: state dict has a key that is not a string (${describe(k as PyValue)})`);
      const t = ar.tensor(v as TensorRef, k);
      total += t.data.byteLength;
      if (total > budget) throw checkpointError(`${what}: its tensors would take more than ${budget} bytes, over twice the file's size (${bytes.byteLength} bytes); at ${k}`);
      raw.set(k, t);
    }
    const { tensors, stripped } = cleanKeys(raw);
    return { tensors, format: 'pytorch', key, stripped };
  }
  if (looksLikeLegacyTorch(bytes)) throw checkpointError(`${what}: ${LEGACY_ADVICE}`);
  if (o.key !== undefined) throw checkpointError(`${what}: --checkpoint-key applies to PyTorch checkpoints; this is not one (safetensors has no nesting)`);
  let st;
  try {
    st = readSafetensors(bytes, what);
  } catch (e) {
    if (!(e instanceof SafetensorsError) || bytes[8] === 0x7b /* '{': it is safetensors, and broken */) throw e;
    if (bytes[0] === 0x80) throw checkpointError(`${what}: a bare pickle, not a torch.save zip archive; ${LEGACY_ADVICE}`);
    throw checkpointError(`${what}: not a checkpoint vitx reads: not a PyTorch zip checkpoint, and as safetensors: ${e.message.slice(what.length + 2)}`);
  }
  const { tensors, stripped } = cleanKeys(st.tensors);
  return { tensors, format: 'safetensors', key: null, stripped };
}

/** One line saying where the weights came from, for `vitx export`. */
export function describeCheckpoint(c: LoadedCheckpoint): string {
  const parts = [c.format === 'pytorch' ? 'PyTorch checkpoint' : 'safetensors'];
  if (c.format === 'pytorch') parts.push(c.key ? `state dict '${c.key}'${c.key.includes('ema') ? ' (EMA weights)' : ''}` : 'top-level state dict');
  for (const [p, n] of c.stripped) parts.push(`prefix '${p}' removed from ${n} keys`);
  return parts.join(', ');
}
