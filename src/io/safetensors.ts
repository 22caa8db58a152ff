/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian u64 header
 * length N, N bytes of JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {k: v}},
 * then the tensor bytes, little-endian, offsets relative to the start of that byte buffer.
 *
 * Reading validates everything the spec requires (sizes agree, offsets in range, the buffer covered exactly once)
 * because a checkpoint that loads silently wrong is worse than one that refuses to load.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { FormatError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

export type SafeDtype = 'float32' | 'float64' | 'int32' | 'int64';
export type SafeData = Float32Array | Float64Array | Int32Array | BigInt64Array;
export interface SafeTensor { dtype: SafeDtype; shape: number[]; data: SafeData }
export interface SafeFile { tensors: Record<string, SafeTensor>; metadata: Record<string, string> }

/** Our dtype name -> the format's tag, element width and typed-array class. */
const DTYPES = {
  float32: { tag: 'F32', bytes: 4, Ctor: Float32Array },
  float64: { tag: 'F64', bytes: 8, Ctor: Float64Array },
  int32: { tag: 'I32', bytes: 4, Ctor: Int32Array },
  int64: { tag: 'I64', bytes: 8, Ctor: BigInt64Array },
} as const;
const BY_TAG = new Map(Object.entries(DTYPES).map(([name, d]) => [d.tag as string, name as SafeDtype]));
const METADATA = '__metadata__';

// Typed arrays use the platform byte order and the format is little-endian; every platform Node ships on is LE.
if (endianness() !== 'LE') throw new Error('relml safetensors: big-endian hosts are not supported');

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isDim(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Serialize tensors (in insertion order) into safetensors bytes. `file` only names the target in errors. */
export function encodeSafetensors(tensors: Record<string, SafeTensor>, metadata: Record<string, string> = {}, file = '<memory>'): Uint8Array {
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new FormatError(file, `metadata '${k}' must be a string, got ${typeof v}`, { key: k });
  }
  if (Object.keys(metadata).length > 0) header[METADATA] = metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === METADATA) throw new FormatError(file, `tensor name '${METADATA}' is reserved`, { tensor: name });
    const d = (DTYPES as Record<string, (typeof DTYPES)[SafeDtype]>)[t.dtype];
    if (!d) throw new FormatError(file, `tensor '${name}': unsupported dtype '${String(t.dtype)}' (supported: ${Object.keys(DTYPES).join(', ')})`, { tensor: name });
    if (!(t.data instanceof d.Ctor)) throw new FormatError(file, `tensor '${name}': dtype ${t.dtype} needs a ${d.Ctor.name}, got ${t.data?.constructor?.name}`, { tensor: name });
    if (!Array.isArray(t.shape) || !t.shape.every(isDim)) throw new FormatError(file, `tensor '${name}': shape must be non-negative integers, got ${JSON.stringify(t.shape)}`, { tensor: name });
    if (numel(t.shape) !== t.data.length) throw new FormatError(file, `tensor '${name}': shape [${t.shape}] holds ${numel(t.shape)} elements but data has ${t.data.length}`, { tensor: name });
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: d.tag, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the buffer starts 8-byte aligned, as the reference writer does.
  const jsonLen = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (jsonLen % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const p of parts) { out.set(p, pos); pos += p.length; }
  return out;
}

/** Parse and validate safetensors bytes. `file` names the source in every FormatError. */
export function decodeSafetensors(bytes: Uint8Array, file = '<memory>'): SafeFile {
  if (bytes.length < 8) throw new FormatError(file, `file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) throw new FormatError(file, `header length ${n} exceeds the ${bytes.length - 8} bytes after the length field`);
  const start = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, start)));
  } catch (err) {
    throw new FormatError(file, `header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new FormatError(file, 'header must be a JSON object');
  const bufLen = bytes.length - start;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, SafeTensor> = {};
  const spans: Array<{ name: string; begin: number; end: number }> = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA) {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new FormatError(file, `'${METADATA}' must be an object`);
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new FormatError(file, `metadata '${k}' must be a string`, { key: k });
        metadata[k] = v;
      }
      continue;
    }
    const bad = (msg: string): FormatError => new FormatError(file, `tensor '${name}': ${msg}`, { tensor: name });
    if (entry === null || typeof entry !== 'object') throw bad('entry must be an object');
    const { dtype, shape, data_offsets: offs } = entry as Record<string, unknown>;
    const ours = typeof dtype === 'string' ? BY_TAG.get(dtype) : undefined;
    if (!ours) throw bad(`unsupported dtype ${JSON.stringify(dtype)} (supported: ${[...BY_TAG.keys()].join(', ')})`);
    if (!Array.isArray(shape) || !shape.every(isDim)) throw bad(`shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isDim)) throw bad(`data_offsets must be [begin, end], got ${JSON.stringify(offs)}`);
    const [begin, end] = offs as [number, number];
    if (begin > end || end > bufLen) throw bad(`data_offsets [${begin}, ${end}] out of range for a ${bufLen}-byte buffer`);
    const d = DTYPES[ours];
    const want = numel(shape) * d.bytes;
    if (end - begin !== want) throw bad(`shape [${shape}] of ${dtype} needs ${want} bytes but data_offsets span ${end - begin}`);
    // Copy into a fresh, aligned buffer: offsets need not be multiples of the element width.
    const copy = new Uint8Array(end - begin);
    copy.set(bytes.subarray(start + begin, start + end));
    const data = new d.Ctor(copy.buffer);
    tensors[name] = { dtype: ours, shape: [...shape], data };
    spans.push({ name, begin, end });
  }
  // The spec requires the tensors to tile the buffer exactly: no overlap, no holes, nothing trailing.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const s of spans) {
    if (s.begin < pos) throw new FormatError(file, `tensor '${s.name}': data_offsets [${s.begin}, ${s.end}] overlap the previous tensor (ends at ${pos})`, { tensor: s.name });
    if (s.begin > pos) throw new FormatError(file, `tensor '${s.name}': buffer is not contiguous, gap of ${s.begin - pos} bytes before it`, { tensor: s.name });
    pos = s.end;
  }
  if (pos !== bufLen) throw new FormatError(file, `buffer is not contiguous: ${bufLen - pos} bytes after the last tensor`);
  return { tensors, metadata };
}

/** Write tensors to `path` atomically (an existing file survives any failure). */
export function saveSafetensors(path: string, tensors: Record<string, SafeTensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata, path));
}

/** Read and validate a safetensors file. */
export function loadSafetensors(path: string): SafeFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new FormatError(path, `cannot read file (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  return decodeSafetensors(bytes, path);
}
