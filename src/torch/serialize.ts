/**
 * Checkpoints in the safetensors format (https://huggingface.co/docs/safetensors): an 8-byte
 * little-endian header length, a JSON header (dtype, shape, byte offsets, string metadata), then
 * the raw little-endian tensor bytes. Files are written atomically (temp file, fsync, rename), so
 * a crash never leaves a half-written checkpoint under the real name.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../atomic-write.js';
import { tensor, type Tensor } from './tensor.js';
import type { DType } from './dtype.js';

const ST_DTYPE: Partial<Record<DType, string>> = {
  float32: 'F32', float64: 'F64', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const FROM_ST = new Map(Object.entries(ST_DTYPE).map(([k, v]) => [v, k as DType]));

export function saveSafetensors(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = { __metadata__: metadata };
  const bodies: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    const st = ST_DTYPE[t.dtype];
    if (!st) throw new Error(`saveSafetensors: "${name}" has dtype ${t.dtype}, which safetensors cannot hold`);
    const d = t.data();
    const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    header[name] = { dtype: st, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    bodies.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keeps the data 8-byte aligned
  const head = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.byteLength));
  writeFileAtomicSync(path, [len, head, ...bodies]);
}

export interface Safetensors { tensors: Map<string, Tensor>; metadata: Record<string, string> }

export function loadSafetensors(path: string): Safetensors {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  const bad = (why: string): Error => new Error(`${path} is not a valid safetensors file: ${why}`);
  if (buf.byteLength < 8) throw bad('shorter than 8 bytes');
  const n = Number(buf.readBigUInt64LE(0));
  if (n > buf.byteLength - 8) throw bad(`header length ${n} exceeds the file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  } catch {
    throw bad('header is not JSON');
  }
  const base = 8 + n;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = info as Record<string, string>; continue; }
    const { dtype, shape, data_offsets: [a, b] } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const dt = FROM_ST.get(dtype);
    if (!dt) throw bad(`"${name}" has unsupported dtype ${dtype}`);
    if (!(a >= 0 && b >= a && base + b <= buf.byteLength)) throw bad(`"${name}" has offsets [${a}, ${b}] outside the file`);
    const bytes = new Uint8Array(b - a);
    bytes.set(buf.subarray(base + a, base + b));
    tensors.set(name, fromBytes(bytes, shape, dt, `${path}: "${name}"`));
  }
  return { tensors, metadata };
}

function fromBytes(bytes: Uint8Array, shape: number[], dt: DType, what: string): Tensor {
  const n = shape.reduce((x, y) => x * y, 1);
  const b = bytes.buffer;
  switch (dt) {
    case 'float32': return check(new Float32Array(b), n, shape, what);
    case 'float64': return check(new Float64Array(b), n, shape, what);
    case 'int64': return check(new BigInt64Array(b), n, shape, what);
    case 'int32': return check(new Int32Array(b), n, shape, what);
    case 'int16': return check(new Int16Array(b), n, shape, what);
    case 'int8': return check(new Int8Array(b), n, shape, what);
    case 'uint8': return check(bytes, n, shape, what);
    case 'bool': return check(bytes, n, shape, what).to('bool');
    default: throw new Error(`${what}: dtype ${dt} is not supported when loading`);
  }
}

function check<A extends Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array>(a: A, n: number, shape: number[], what: string): Tensor {
  if (a.length !== n) throw new Error(`${what}: ${a.length} elements stored for shape [${shape.join(', ')}]`);
  return tensor(a, shape);
}
