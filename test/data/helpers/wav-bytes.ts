/** Hand-built WAV files for the tests (independent of the decoder under test). */

export type WavEncoding = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'float64';

const BITS: Record<WavEncoding, number> = { pcm8: 8, pcm16: 16, pcm24: 24, pcm32: 32, float32: 32, float64: 64 };

/** Encodes interleaved-by-frame channels; integer formats round v * 2^(bits-1) and clamp. */
export function wavBytes(
  channels: number[][],
  sampleRate: number,
  encoding: WavEncoding,
  opts: { extensible?: boolean; extraChunk?: boolean } = {},
): Uint8Array {
  const bits = BITS[encoding];
  const width = bits / 8;
  const nch = channels.length;
  const frames = channels[0].length;
  const dataSize = frames * nch * width;
  const fmtSize = opts.extensible ? 40 : 16;
  const extra = opts.extraChunk ? 8 + 3 + 1 : 0; // odd-sized "LIST" chunk plus its pad byte
  const total = 12 + 8 + fmtSize + extra + 8 + dataSize;
  const buf = new Uint8Array(total);
  const v = new DataView(buf.buffer);
  const str = (at: number, s: string): void => [...s].forEach((c, i) => (buf[at + i] = c.charCodeAt(0)));
  str(0, 'RIFF');
  v.setUint32(4, total - 8, true);
  str(8, 'WAVE');
  str(12, 'fmt ');
  v.setUint32(16, fmtSize, true);
  const isFloat = encoding.startsWith('float');
  v.setUint16(20, opts.extensible ? 0xfffe : isFloat ? 3 : 1, true);
  v.setUint16(22, nch, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * nch * width, true);
  v.setUint16(32, nch * width, true);
  v.setUint16(34, bits, true);
  let at = 36;
  if (opts.extensible) {
    v.setUint16(36, 22, true);
    v.setUint16(38, bits, true);
    v.setUint32(40, nch === 1 ? 4 : 3, true);
    v.setUint16(44, isFloat ? 3 : 1, true); // sub-format GUID starts with the format tag
    buf.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 46);
    at = 60;
  }
  if (opts.extraChunk) {
    str(at, 'LIST');
    v.setUint32(at + 4, 3, true);
    at += 12;
  }
  str(at, 'data');
  v.setUint32(at + 4, dataSize, true);
  at += 8;
  const clamp = (x: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, x));
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      const s = channels[c][i];
      switch (encoding) {
        case 'pcm8':
          v.setUint8(at, clamp(Math.round(s * 128) + 128, 0, 255));
          break;
        case 'pcm16':
          v.setInt16(at, clamp(Math.round(s * 32768), -32768, 32767), true);
          break;
        case 'pcm24': {
          const q = clamp(Math.round(s * 8388608), -8388608, 8388607);
          v.setUint8(at, q & 0xff);
          v.setUint8(at + 1, (q >> 8) & 0xff);
          v.setUint8(at + 2, (q >> 16) & 0xff);
          break;
        }
        case 'pcm32':
          v.setInt32(at, clamp(Math.round(s * 2147483648), -2147483648, 2147483647), true);
          break;
        case 'float32':
          v.setFloat32(at, s, true);
          break;
        case 'float64':
          v.setFloat64(at, s, true);
          break;
      }
      at += width;
    }
  }
  return buf;
}
