import { DataError } from '../errors.js';

/** A decoded WAV file: one Float32Array per channel, samples in [-1, 1]. */
export interface WavAudio {
  sampleRate: number;
  channels: Float32Array[];
}

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;

/**
 * Decodes a RIFF/WAVE file: PCM 8 (unsigned), 16, 24, 32-bit, IEEE float 32/64, plain or
 * WAVE_FORMAT_EXTENSIBLE, any channel count and rate. Integer PCM is scaled by 2^(bits-1)
 * (as torchaudio and scipy do), so int16 32767 becomes 0.99997.
 * A data chunk shorter than its declared size is an error (truncated file), never silently cut.
 */
export function decodeWav(bytes: Uint8Array, file: string): WavAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number): string => String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') {
    throw new DataError(file, 'not a WAV file (no RIFF/WAVE header)');
  }
  let format = -1;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const id = tag(pos);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > bytes.length) throw new DataError(file, 'truncated WAV: fmt chunk is incomplete');
      format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
      if (format === EXTENSIBLE) {
        if (size < 40) throw new DataError(file, 'WAVE_FORMAT_EXTENSIBLE fmt chunk shorter than 40 bytes');
        format = view.getUint16(body + 24, true); // first two bytes of the sub-format GUID
      }
    } else if (id === 'data') {
      if (format < 0) throw new DataError(file, 'WAV data chunk before fmt chunk');
      const available = bytes.length - body;
      if (size > available) {
        throw new DataError(file, `truncated WAV: data chunk declares ${size} bytes, only ${available} present`);
      }
      return { sampleRate, channels: decodeSamples(view, body, size, format, bits, channels, file) };
    }
    pos = body + size + (size & 1); // chunks are word-aligned
  }
  throw new DataError(file, format < 0 ? 'WAV has no fmt chunk' : 'truncated WAV: no data chunk');
}

function decodeSamples(
  view: DataView,
  start: number,
  size: number,
  format: number,
  bits: number,
  nch: number,
  file: string,
): Float32Array[] {
  if (nch < 1) throw new DataError(file, 'WAV declares 0 channels');
  const width = bits / 8;
  const read = sampleReader(view, format, bits, file);
  const frames = Math.floor(size / (width * nch));
  const out = Array.from({ length: nch }, () => new Float32Array(frames));
  let at = start;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      out[c][i] = read(at);
      at += width;
    }
  }
  return out;
}

function sampleReader(view: DataView, format: number, bits: number, file: string): (at: number) => number {
  if (format === PCM) {
    switch (bits) {
      case 8:
        return (at) => (view.getUint8(at) - 128) / 128;
      case 16:
        return (at) => view.getInt16(at, true) / 32768;
      case 24:
        return (at) => {
          const v = view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16);
          return v / 8388608;
        };
      case 32:
        return (at) => view.getInt32(at, true) / 2147483648;
    }
  } else if (format === IEEE_FLOAT) {
    if (bits === 32) return (at) => view.getFloat32(at, true);
    if (bits === 64) return (at) => view.getFloat64(at, true);
  }
  throw new DataError(file, `unsupported WAV encoding (format tag ${format}, ${bits} bits); supported: PCM 8/16/24/32-bit, float 32/64`);
}

/** Averages the channels into one (the usual down-mix, as librosa's mono=True). */
export function toMono(audio: WavAudio): Float32Array {
  const [first, ...rest] = audio.channels;
  if (rest.length === 0) return first;
  const out = new Float32Array(first.length);
  for (const ch of audio.channels) for (let i = 0; i < out.length; i++) out[i] += ch[i];
  const k = 1 / audio.channels.length;
  for (let i = 0; i < out.length; i++) out[i] *= k;
  return out;
}
