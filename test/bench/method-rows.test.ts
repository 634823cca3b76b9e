import { describe, expect, it } from 'vitest';
import { benchOverrides, methodRows } from '../../bench/method-rows.js';
import { METHODS } from '../../src/methods/registry.js';
import { defineMethod } from '../../src/methods/method.js';
import { ROLES } from '../../src/methods/roles.js';
import { resolveConfig } from '../../src/train/config.js';

describe('bench:methods rows from the registry', () => {
  const rows = methodRows(METHODS, benchOverrides({ epochs: 1 }));

  it('every registered method has a row, each label once, each config valid', () => {
    for (const m of METHODS) expect(rows.some((r) => r.config.method === m.name), m.name).toBe(true);
    expect(new Set(rows.map((r) => r.label)).size).toBe(rows.length);
    for (const r of rows) expect(() => resolveConfig({ data: 'avdigits', ...r.config }, METHODS), r.label).not.toThrow();
    expect(rows[0]).toEqual({ label: ROLES.reference, config: { method: ROLES.reference, purify: { epochs: 1 } } });
    expect(rows.filter((r) => r.config.method === 'unimodal').map((r) => r.label)).toEqual(['unimodal (audio)', 'unimodal (visual)']);
  });

  it('a method added to the registry appears with its defaults; an override of an unregistered one is an error', () => {
    const extra = defineMethod({ name: 'brand-new', summary: 'x', options: {}, build: () => ({ name: 'brand-new', loss: () => { throw new Error('unused'); } }) });
    expect(methodRows([...METHODS, extra], {}).at(-1)).toEqual({ label: 'brand-new', config: { method: 'brand-new' } });
    expect(() => methodRows(METHODS, { 'no-such': [] })).toThrow(/bench rows name unregistered methods: no-such/);
  });
});
