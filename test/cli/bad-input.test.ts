/** Bad input gets one line on stderr naming the problem and the fix, and exit code 2 — never a stack trace. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { writeRunFixture } from '../report/helpers/run-fixture.js';
import { fakeTrainer } from './helpers/fake-trainer.js';
import { memoryIo } from './helpers/memory-io.js';

const dir = mkdtempSync(join(tmpdir(), 'mmgap-cli-bad-'));
const oldRun = join(dir, 'old-run');
writeRunFixture(oldRun, { formatVersion: 0 });
const wrongType = join(dir, 'wrong-type.yaml');
writeFileSync(wrongType, 'epochs: ten\n');
const unknownField = join(dir, 'unknown-field.json');
writeFileSync(unknownField, '{"epoch": 3}');
const badYaml = join(dir, 'bad.yaml');
writeFileSync(badYaml, 'epochs: [1, 2\n');

async function fails(argv: string[]): Promise<string> {
  const io = memoryIo();
  const trainer = fakeTrainer();
  const code = await runCli(argv, io, async () => trainer);
  expect(code, io.err).toBe(2);
  expect(io.err.endsWith('\n')).toBe(true);
  expect(io.err.trimEnd().split('\n')).toHaveLength(1);
  expect(io.err).not.toMatch(/\n\s+at /);
  expect(io.err.startsWith('mmgap: ')).toBe(true);
  expect(trainer.calls).toHaveLength(0);
  return io.err;
}

describe('bad input: one line, exit 2', () => {
  it('unknown method', async () => {
    const err = await fails(['train', '--method', 'nope']);
    expect(err).toMatch(/unknown method "nope" \(known: joint, gmm-adaptive\)/);
    expect(err).toMatch(/--method/);
  });

  it('unknown or invalid method option', async () => {
    expect(await fails(['train', '--method-opt', 'betta=1'])).toMatch(/unknown option "betta".*change --method-opt/);
    expect(await fails(['train', '--method-opt', 'beta=-1'])).toMatch(/option beta must be a number >= 0, got -1; change --method-opt/);
  });

  it('missing dataset path, missing path part, unknown dataset', async () => {
    const missing = join(dir, 'no-such-crema');
    expect(await fails(['train', '--data', `cremad:${missing}`])).toMatch(new RegExp(`dataset path ${missing} does not exist.*point --data at the CREMA-D root`));
    expect(await fails(['train', '--data', 'ks'])).toMatch(/"ks" needs a path: --data ks:PATH/);
    expect(await fails(['train', '--data', 'imagenet'])).toMatch(/unknown dataset "imagenet".*use one of avdigits/);
  });

  it('config file with a wrong type, an unknown field, broken YAML, or no file', async () => {
    expect(await fails(['train', '--config', wrongType])).toMatch(/config .*wrong-type\.yaml: config: field epochs must be an integer in \[0, 100000\], got "ten"; fix it in the file or override it with --epochs/);
    expect(await fails(['train', '--config', unknownField])).toMatch(/unknown field "epoch"/);
    expect(await fails(['train', '--config', badYaml])).toMatch(/not valid YAML or JSON.*fix the file/);
    expect(await fails(['train', '--config', join(dir, 'nope.yaml')])).toMatch(/does not exist; check the --config path/);
  });

  it('run directory from another format version', async () => {
    for (const argv of [['eval', oldRun], ['diagnose', oldRun], ['purify', oldRun], ['report', oldRun], ['train', '--out', oldRun]]) {
      expect(await fails(argv)).toMatch(/config\.json has run format version 0, this mmgap reads version \d+; use the mmgap version that wrote it, or train again into a new --out directory/);
    }
    expect(await fails(['eval', dir])).toMatch(/is not a run directory \(no config\.json\)/);
  });

  it('flags commander rejects: unknown, malformed, out of range, inconsistent', async () => {
    expect(await fails(['train', '--epoch', '3'])).toMatch(/unknown option '--epoch'.*Did you mean --epochs\?.*see `mmgap train --help`/);
    expect(await fails(['train', '--epochs', 'ten'])).toMatch(/field epochs must be an integer in \[0, 100000\], got "ten"; change --epochs/);
    expect(await fails(['train', '--encoder', 'vit'])).toMatch(/field encoder: "vit" is not an encoder \(encoders: auto, mlp, seq-cnn, gru, small-cnn, resnet18, torchscript:PATH\); change --encoder/);
    expect(await fails(['train', '--epochs', '2', '--warmup', '2'])).toMatch(/warmup \(2\) must leave at least one epoch of gmm-adaptive.*change --warmup/);
    expect(await fails(['trian'])).toMatch(/unknown command 'trian'.*Did you mean train\?/);
    expect(await fails(['bench', '--seeds', 'a,b'])).toMatch(/--seeds/);
  });
});

const BIN = join(import.meta.dirname, '../../dist/src/cli/main.js');

describe.skipIf(!existsSync(BIN))('the built mmgap executable', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

  it('exits 2 with one stderr line for an unknown method and for a wrongly typed config', () => {
    for (const args of [['train', '--method', 'nope'], ['train', '--config', wrongType]]) {
      const r = run(args);
      expect(r.status).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(args[1] === '--method' ? /unknown method "nope"/ : /field epochs must be an integer/);
    }
  });

  it('exits 2 for a run directory of another version', () => {
    const r = run(['eval', oldRun]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/run format version 0/);
  });
});
