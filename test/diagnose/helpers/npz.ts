/** Writes .npz fixtures without Python: a zip of .npy members, stored or deflated, as np.savez lays them out. */
import { crc32, deflateRawSync } from 'node:zlib';
import { writeNpy } from '../../../src/data/io/npy.js';
import type { NdArray } from '../../../src/data/io/ndarray.js';

export interface NpzMember { data: NdArray['data']; shape: number[] }

export function npzBytes(members: Record<string, NpzMember>, compressed = false): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, m] of Object.entries(members)) {
    const npy = writeNpy(m.data, m.shape);
    const body = compressed ? deflateRawSync(npy) : Buffer.from(npy);
    const fileName = Buffer.from(`${name}.npy`);
    const fields = (header: Buffer, at: number): void => {
      header.writeUInt16LE(compressed ? 8 : 0, at);
      header.writeUInt32LE(crc32(npy), at + 6);
      header.writeUInt32LE(body.length, at + 10);
      header.writeUInt32LE(npy.length, at + 14);
      header.writeUInt16LE(fileName.length, at + 18);
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    fields(local, 8);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    fields(central, 10);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fileName, body);
    centrals.push(central, fileName);
    offset += 30 + fileName.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(members).length, 8);
  end.writeUInt16LE(Object.keys(members).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
