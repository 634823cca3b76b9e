// The registry: roles name registered methods, every method declares its options once, and the
// trainer and the CLI know no method by name.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METHODS, methodFor } from '../../src/methods/registry.js';
import { ROLES, type Role } from '../../src/methods/roles.js';
import { defaultsOf, isValid } from '../../src/settings.js';

const SRC = join(import.meta.dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('method registry', () => {
  it('every role names a registered method', () => {
    for (const role of Object.keys(ROLES) as Role[]) expect(methodFor(role).name).toBe(ROLES[role]);
  });

  it('method names are unique; every option has a valid default and a line of help; create() builds with the defaults', () => {
    expect(new Set(METHODS.map((m) => m.name)).size).toBe(METHODS.length);
    for (const m of METHODS) {
      for (const [k, s] of Object.entries(m.options)) {
        expect(isValid(s, s.default), `${m.name}.${k}`).toBe(true);
        expect(s.help.length, `${m.name}.${k}`).toBeGreaterThan(10);
      }
      expect(m.resolve({})).toEqual(defaultsOf(m.options));
      expect(m.create().name).toBe(m.name);
    }
  });

  it('no file under src/train or src/cli names a specific method', () => {
    const offenders: string[] = [];
    for (const f of [...files(join(SRC, 'train')), ...files(join(SRC, 'cli'))]) {
      const text = readFileSync(f, 'utf8');
      for (const m of METHODS) {
        if (new RegExp(`['"\`]${m.name}['"\`]`).test(text)) offenders.push(`${f}: '${m.name}'`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
