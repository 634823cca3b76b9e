/**
 * Reading numpy's .npz archives (np.savez: stored; np.savez_compressed: deflate): a zip file of
 * one .npy member per array. Sizes and offsets come from the central directory, which numpy's
 * zipfile writes exactly even where the local headers carry zip64 placeholders.
 */
import { crc32, inflateRawSync } from 'node:zlib';
import { DataError } from '../errors.js';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const STORED = 0;
const DEFLATE = 8;
/** The zip64 extra field that holds the sizes and offset a 32-bit field marks with 0xffffffff. */
const ZIP64_EXTRA = 0x0001;

/** True when `bytes` start like a zip archive (and so possibly an .npz). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === LOCAL;
}

/** Position of the end-of-central-directory record: the last signature within the 64 KiB comment window. */
function findEndRecord(view: DataView, file: string): number {
  for (let at = view.byteLength - 22; at >= Math.max(0, view.byteLength - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === EOCD) return at;
  }
  throw new DataError(file, 'not a zip archive (no end of central directory); an .npz is what np.savez writes');
}

interface Entry { name: string; method: number; crc: number; compressedSize: number; size: number; localOffset: number }

/** The central directory: where it starts and how many entries it holds (zip64 when the 32-bit fields overflow). */
function directory(view: DataView, file: string): { start: number; count: number } {
  const end = findEndRecord(view, file);
  const count = view.getUint16(end + 10, true);
  const start = view.getUint32(end + 16, true);
  if (count !== 0xffff && start !== 0xffffffff) return { start, count };
  const locator = end - 20;
  if (locator < 0 || view.getUint32(locator, true) !== ZIP64_LOCATOR) throw new DataError(file, 'zip64 archive without its end-of-directory locator (truncated file?)');
  const record = Number(view.getBigUint64(locator + 8, true));
  if (record + 56 > view.byteLength || view.getUint32(record, true) !== ZIP64_EOCD) throw new DataError(file, 'bad zip64 end of central directory (truncated file?)');
  return { start: Number(view.getBigUint64(record + 48, true)), count: Number(view.getBigUint64(record + 32, true)) };
}

function entries(view: DataView, bytes: Uint8Array, file: string): Entry[] {
  const { start, count } = directory(view, file);
  const out: Entry[] = [];
  let at = start;
  for (let i = 0; i < count; i++) {
    if (at + 46 > view.byteLength || view.getUint32(at, true) !== CENTRAL) throw new DataError(file, `bad zip central directory entry ${i} (truncated file?)`);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const entry: Entry = {
      name: new TextDecoder('utf-8').decode(bytes.subarray(at + 46, at + 46 + nameLength)),
      method: view.getUint16(at + 10, true),
      crc: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      localOffset: view.getUint32(at + 42, true),
    };
    readZip64Extra(view, at + 46 + nameLength, extraLength, entry);
    out.push(entry);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return out;
}

/** Replaces the 0xffffffff placeholders of `entry` with the 64-bit values of its zip64 extra field, in the order the format fixes. */
function readZip64Extra(view: DataView, start: number, length: number, entry: Entry): void {
  for (let at = start; at + 4 <= start + length;) {
    const id = view.getUint16(at, true);
    const size = view.getUint16(at + 2, true);
    if (id === ZIP64_EXTRA) {
      let field = at + 4;
      for (const key of ['size', 'compressedSize', 'localOffset'] as const) {
        if (entry[key] !== 0xffffffff) continue;
        entry[key] = Number(view.getBigUint64(field, true));
        field += 8;
      }
    }
    at += 4 + size;
  }
}

function memberBytes(view: DataView, bytes: Uint8Array, e: Entry, file: string): Uint8Array {
  const where = `${file} (member ${e.name})`;
  if (e.localOffset + 30 > view.byteLength || view.getUint32(e.localOffset, true) !== LOCAL) throw new DataError(where, 'bad local zip header (truncated file?)');
  const dataStart = e.localOffset + 30 + view.getUint16(e.localOffset + 26, true) + view.getUint16(e.localOffset + 28, true);
  if (dataStart + e.compressedSize > bytes.length) throw new DataError(where, 'member data is truncated');
  const raw = bytes.subarray(dataStart, dataStart + e.compressedSize);
  let data: Uint8Array;
  if (e.method === STORED) data = raw;
  else if (e.method === DEFLATE) data = inflateRawSync(raw);
  else throw new DataError(where, `zip compression method ${e.method} is not supported (np.savez and np.savez_compressed write 0 and 8)`);
  if (data.length !== e.size || crc32(data) !== e.crc) throw new DataError(where, 'member data is corrupt (size or CRC-32 mismatch); write the file again');
  return data;
}

/**
 * The members of an .npz archive as .npy bytes, keyed by array name (the member name without
 * ".npy", as np.load's keys). Members that are not .npy files are refused.
 */
export function readNpz(bytes: Uint8Array, file: string): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, Uint8Array>();
  for (const e of entries(view, bytes, file)) {
    if (!e.name.endsWith('.npy')) throw new DataError(file, `member "${e.name}" is not an .npy array; an .npz holds only what np.savez writes`);
    out.set(e.name.slice(0, -'.npy'.length), memberBytes(view, bytes, e, file));
  }
  return out;
}
