import { describe, expect, it } from 'vitest';
import { decodeWav, toMono } from '../../../src/data/audio/wav.js';
import { DataError } from '../../../src/data/errors.js';
import { wavBytes, type WavEncoding } from '../helpers/wav-bytes.js';
import { pythonBytes, pythonMissing } from '../helpers/python.js';

const left = [0, 0.5, -0.5, 0.25, -1, 0.99];
const right = [0.1, -0.2, 0.3, -0.4, 0.5, -0.6];
const step: Record<WavEncoding, number> = { pcm8: 1 / 128, pcm16: 1 / 32768, pcm24: 1 / 8388608, pcm32: 1 / 2147483648, float32: 1e-7, float64: 0 };

describe('decodeWav', () => {
  for (const encoding of Object.keys(step) as WavEncoding[]) {
    for (const extensible of [false, true]) {
      it(`decodes ${encoding}${extensible ? ' (WAVE_FORMAT_EXTENSIBLE)' : ''}, stereo, with an odd-sized extra chunk`, () => {
        const bytes = wavBytes([left, right], 11025, encoding, { extensible, extraChunk: true });
        const wav = decodeWav(bytes, 'x.wav');
        expect(wav.sampleRate).toBe(11025);
        expect(wav.channels).toHaveLength(2);
        const tol = step[encoding] / 2 + 6e-8; // output is float32
        left.forEach((s, i) => expect(Math.abs(wav.channels[0][i] - s)).toBeLessThanOrEqual(tol));
        right.forEach((s, i) => expect(Math.abs(wav.channels[1][i] - s)).toBeLessThanOrEqual(tol));
        const mono = toMono(wav);
        left.forEach((s, i) => expect(Math.abs(mono[i] - (s + right[i]) / 2)).toBeLessThanOrEqual(tol + 1e-7));
      });
    }
  }

  it('decodes a real FSDD recording (8 kHz mono int16)', async () => {
    const { readFile } = await import('node:fs/promises');
    const { sharedDir } = await import('../../helpers/shared.js');
    const file = `${sharedDir}/data/fsdd/recordings/0_george_0.wav`;
    const wav = decodeWav(await readFile(file), file);
    expect(wav.sampleRate).toBe(8000);
    expect(wav.channels).toHaveLength(1);
    expect(wav.channels[0].length).toBeGreaterThan(1000);
  });

  it.skipIf(pythonMissing !== null)('agrees with scipy.io.wavfile on a 24-bit stereo file written by Python', () => {
    const bytes = pythonBytes(
      [
        'import io, wave, numpy as np',
        'b = io.BytesIO(); w = wave.open(b, "wb"); w.setnchannels(2); w.setsampwidth(3); w.setframerate(48000)',
        'q = (np.arange(200).reshape(100, 2) * 40000 - 4000000).astype(np.int32)',
        'w.writeframes(b"".join(int(v).to_bytes(3, "little", signed=True) for v in q.ravel())); w.close()',
        'out = b.getvalue()',
      ].join('\n'),
    );
    const wav = decodeWav(bytes, 'py.wav');
    expect(wav.sampleRate).toBe(48000);
    expect(wav.channels[0][0]).toBeCloseTo(-4000000 / 8388608, 7);
    expect(wav.channels[1][99]).toBeCloseTo((199 * 40000 - 4000000) / 8388608, 7);
  });

  it('rejects a truncated file, naming it', () => {
    const bytes = wavBytes([left], 8000, 'pcm16').subarray(0, 50);
    expect(() => decodeWav(bytes, 'cut.wav')).toThrow(DataError);
    expect(() => decodeWav(bytes, 'cut.wav')).toThrow(/^cut\.wav: truncated WAV: data chunk declares 12 bytes, only 6 present/);
    expect(() => decodeWav(wavBytes([left], 8000, 'pcm16').subarray(0, 30), 'h.wav')).toThrow(/h\.wav: truncated WAV/);
  });

  it('rejects non-WAV data and unsupported encodings', () => {
    expect(() => decodeWav(new TextEncoder().encode('hello world, not a wav'), 'a.wav')).toThrow(/a\.wav: not a WAV file/);
    const bytes = wavBytes([left], 8000, 'pcm16');
    new DataView(bytes.buffer).setUint16(20, 2, true); // ADPCM
    expect(() => decodeWav(bytes, 'adpcm.wav')).toThrow(/adpcm\.wav: unsupported WAV encoding \(format tag 2, 16 bits\)/);
  });
});
