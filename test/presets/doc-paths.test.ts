// Every repository file that a help text, the README or the reproduction guide names must exist
// (mmgap's help once advertised a configs/ folder that was not there).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { buildProgram } from '../../src/cli/program.js';
import { fakeTrainer } from '../cli/helpers/fake-trainer.js';
import { memoryIo } from '../cli/helpers/memory-io.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** Repository-relative file paths: a top folder of the repository, then a file with an extension. */
const PATH = /(?<![\w/.-])(?:configs|docs|src|bench|scripts|test|native)\/[\w./-]*\w\.(?:yaml|yml|json|md|ts|mjs|js|sh|py|cc)\b/g;

function namedPaths(text: string): string[] {
  return [...new Set(text.match(PATH) ?? [])];
}

/** Every command path of the CLI: [], ['train'], ['data', 'inspect'], ... */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return [prefix, ...cmd.commands.flatMap((c) => commandPaths(c, [...prefix, c.name()]))];
}

describe('file paths named in help texts and docs', () => {
  it('finds paths in text (and the check can fail)', () => {
    expect(namedPaths('see configs/cremad.yaml, docs/DATA.md and src/methods/method.ts; not /data/CREMA-D or a/docs/x.md')).toEqual(['configs/cremad.yaml', 'docs/DATA.md', 'src/methods/method.ts']);
    expect(existsSync(join(ROOT, 'configs/no-such-preset.yaml'))).toBe(false);
  });

  it('every `mmgap ... --help` names only files that exist, and train/bench name the presets', async () => {
    const commands = commandPaths(buildProgram({ io: memoryIo(), argv: [], loadTrainer: async () => fakeTrainer(), exitCode: 0 }));
    expect(commands.length).toBeGreaterThan(8);
    const named = new Set<string>();
    for (const path of commands) {
      const io = memoryIo();
      expect(await runCli([...path, '--help'], io, async () => fakeTrainer())).toBe(0);
      for (const p of namedPaths(io.out)) {
        named.add(p);
        expect(existsSync(join(ROOT, p)), `\`mmgap ${path.join(' ')} --help\` names ${p}`).toBe(true);
      }
    }
    expect(named).toContain('configs/cremad.yaml');
  });

  it.each(['README.md', 'docs/REPRODUCE.md', 'docs/DATA.md'])('%s names only files that exist', (doc) => {
    const paths = namedPaths(readFileSync(join(ROOT, doc), 'utf8'));
    expect(paths.length).toBeGreaterThan(0);
    for (const p of paths) expect(existsSync(join(ROOT, p)), `${doc} names ${p}`).toBe(true);
  });
});
