/**
 * Runs reference computations in Debian's Python (`/usr/bin/python3` with python3-torch,
 * python3-sklearn, python3-scipy: `make test` installs them). Tensors travel as safetensors files.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = process.env.MMGAP_PYTHON ?? '/usr/bin/python3';
const HELPERS = fileURLToPath(new URL('.', import.meta.url));

/** Runs `code` (with test/helpers on sys.path, so `from st import load, save` works) and returns stdout. */
export function runPython(code: string, args: string[] = [], timeoutMs = 300_000): string {
  const dir = mkdtempSync(join(tmpdir(), 'mmgap-py-'));
  const file = join(dir, 'script.py');
  writeFileSync(file, `import sys\nsys.path.insert(0, ${JSON.stringify(HELPERS)})\n${code}`);
  try {
    return execFileSync(PYTHON, [file, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`reference script failed (${PYTHON}; run \`make deps\` to install python3-torch/python3-sklearn): ${err.stderr ?? err.message}`);
  }
}

export function tempDir(prefix = 'mmgap-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
