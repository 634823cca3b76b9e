/** The subcommands end to end with a fake trainer (no libtorch): outputs, files, resumption, Ctrl-C. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import type { TrainerApi } from '../../src/cli/trainer.js';
import { writeRunFixture } from '../report/helpers/run-fixture.js';
import { fakeTrainer } from './helpers/fake-trainer.js';
import { memoryIo, type MemoryIo } from './helpers/memory-io.js';

const dir = mkdtempSync(join(tmpdir(), 'mmgap-cli-cmd-'));

async function run(argv: string[], trainer: TrainerApi = fakeTrainer(), io: MemoryIo = memoryIo({ loadTrainer: async () => trainer })): Promise<{ code: number; io: MemoryIo; json: () => Record<string, unknown> }> {
  const code = await runCli(argv, io, async () => trainer);
  const json = () => JSON.parse(io.out.trimEnd().split('\n').at(-1) as string) as Record<string, unknown>;
  return { code, io, json };
}

describe('mmgap train', () => {
  it('prints the summary as the last JSON line and writes the report', async () => {
    const out = join(dir, 'train-json');
    const r = await run(['train', '--data', 'avdigits', '--method', 'gmm-adaptive', '--epochs', '2', '--warmup', '1', '--seed', '0', '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(r.io.err).toBe('');
    const s = r.json() as { test: { acc: number; f1: number; modality: Record<string, { acc: number }> }; report: string };
    expect(s.test.acc).toBeCloseTo(0.86);
    expect(s.test.f1).toBeGreaterThan(0);
    expect(Object.keys(s.test.modality)).toEqual(['audio', 'visual']);
    expect(s.report).toBe(join(out, 'report.html'));
    expect(existsSync(s.report)).toBe(true);
  });

  it('prints human-readable lines and the log without --json', async () => {
    const r = await run(['train', '--epochs', '2', '--warmup', '1', '--out', join(dir, 'train-human')]);
    expect(r.code).toBe(0);
    expect(r.io.out).toMatch(/^test \(epoch 2, chosen on validation\): accuracy 86\.0 %/m);
    expect(r.io.out).toMatch(/^report: .*report\.html$/m);
    expect(r.io.err).toMatch(/epoch 2\/2 done/);
  });

  it('stops cleanly on Ctrl-C with exit 130 and says how to resume', async () => {
    const io = memoryIo();
    const trainer = fakeTrainer(async (opts) => {
      io.interrupt();
      expect(opts.signal?.aborted).toBe(true);
      io.interrupt();
    });
    const out = join(dir, 'train-interrupted');
    const r = await run(['train', '--epochs', '3', '--warmup', '1', '--out', out, '--no-resume'], trainer, io);
    expect(r.code).toBe(130);
    expect(io.exited).toBe(130); // the second Ctrl-C quits at once
    expect(io.err).toMatch(/stopping after the current step/);
    expect(io.err).toContain(`mmgap: interrupted; the last finished epoch is saved in ${out}; resume with: mmgap train --epochs 3 --warmup 1 --out ${out}\n`);
  });
});

describe('mmgap bench', () => {
  it('runs the grid into one directory per run, aggregates, and skips finished runs when run again', async () => {
    const out = join(dir, 'bench');
    const trainer = fakeTrainer();
    const argv = ['bench', '--methods', 'joint,gmm-adaptive', '--seeds', '0,1', '--method-opt', 'beta=2', '--epochs', '2', '--warmup', '1', '--out', out, '--json'];
    const r = await run(argv, trainer);
    expect(r.code, r.io.err).toBe(0);
    expect(trainer.calls.map((c) => `${c.config.method}/${c.config.seed}`)).toEqual(['joint/0', 'joint/1', 'gmm-adaptive/0', 'gmm-adaptive/1']);
    // Each method gets the keys it declares, with its declared defaults for the rest.
    expect(trainer.calls.map((c) => c.config.methodOptions)).toEqual([{}, {}, { beta: 2, kappa: 1 }, { beta: 2, kappa: 1 }]);
    expect(trainer.calls[3].opts.outDir).toBe(join(out, 'gmm-adaptive-seed1'));
    const rows = (r.json() as { rows: { label: string; runs: number; acc: number; acc_std: number }[] }).rows;
    expect(rows.map((x) => x.label)).toEqual(['joint', 'gmm-adaptive']);
    expect(rows[0].runs).toBe(2);
    expect(rows[0].acc).toBeCloseTo(0.805);
    expect(rows[0].acc_std).toBeCloseTo(Math.SQRT1_2 * 0.01);
    for (const f of ['bench.md', 'bench.csv', 'bench.svg', 'bench.html']) expect(existsSync(join(out, f))).toBe(true);
    expect(readFileSync(join(out, "bench.md"), "utf8")).toMatch(/\| joint +\| 2 +\| [^|]+\| 80\.5 ± 0\.7/);

    const again = fakeTrainer();
    expect((await run(argv, again)).code).toBe(0);
    expect(again.calls).toHaveLength(0);
  });
});

describe('mmgap demo', () => {
  it('trains joint and gmm-adaptive with purification, prints three rows and the report path', async () => {
    const out = join(dir, 'demo');
    const trainer = fakeTrainer();
    const r = await run(['demo', '--quick', '--out', out, '--json'], trainer);
    expect(r.code, r.io.err).toBe(0);
    expect(trainer.calls.map((c) => [c.config.method, c.config.epochs, c.config.purify?.epochs ?? null])).toEqual([['joint', 2, null], ['gmm-adaptive', 2, 1]]);
    const j = r.json() as { methods: Record<string, { acc: number }>; report: string; reports: Record<string, string> };
    expect(Object.keys(j.methods)).toEqual(['joint', 'gmm-adaptive', 'gmm-adaptive + purify']);
    expect(j.methods.joint.acc).toBeCloseTo(0.8);
    expect(j.report).toBe(join(out, 'report.html'));
    expect(readFileSync(j.report, 'utf8')).toContain('href="gmm-adaptive/report.html"');
    expect(existsSync(j.reports['gmm-adaptive'])).toBe(true);
  });
});

describe('run-directory commands', () => {
  const runDir = join(dir, 'finished');
  writeRunFixture(runDir);

  it('eval prints the scores of a split', async () => {
    const r = await run(['eval', runDir, '--split', 'test', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ split: 'test', scores: { acc: 0.9 } });
  });

  it('diagnose writes the per-sample CSV and prints the GMM', async () => {
    const r = await run(['diagnose', runDir]);
    expect(r.code).toBe(0);
    expect(r.io.out).toMatch(/BIC\(1\) 10\.0, BIC\(2\) 5\.0: imbalanced subgroup of 20\.0 %/);
    expect(readFileSync(join(runDir, 'diagnose-train.csv'), 'utf8')).toBe('id,label,gap,gamma,dominant,corrupted\na,1,0.7,0.9,audio,1\nb,2,0.01,0.05,visual,0\n');
  });

  it('purify passes the purification settings and refuses unfinished runs', async () => {
    const r = await run(['purify', runDir, '--purify-tau', '0.3', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ purification: { config: { tau: 0.3 } } });
    const unfinished = join(dir, 'unfinished');
    writeRunFixture(unfinished, { finished: false });
    const u = await run(['purify', unfinished]);
    expect(u.code).toBe(2);
    expect(u.io.err).toMatch(/has not finished training \(no summary\.json\)/);
  });

  it('report rewrites report.html', async () => {
    const r = await run(['report', runDir, '--json']);
    expect(r.json()).toEqual({ report: join(runDir, 'report.html') });
  });
});

describe('help', () => {
  it('shows examples for the program and every command', async () => {
    for (const argv of [['--help'], ...['demo', 'train', 'eval', 'diagnose', 'purify', 'bench', 'data', 'report', 'methods'].map((c) => [c, '--help']), ['data', 'inspect', '--help'], ['data', 'verify', '--help'], ['data', 'prepare', '--help']]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.io.out, argv.join(' ')).toMatch(/Examples:\n {2}\$ mmgap /);
    }
  });

  it('lists the methods with their options', async () => {
    const r = await run(['methods']);
    expect(r.io.out).toContain('gmm-adaptive: gmm-adaptive (fake) (after the shared --warmup epochs)\n    --method-opt beta=1    beta (fake) (a number >= 0)\n');
  });
});
