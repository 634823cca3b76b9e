import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BenchArgsError, benchHelp, parseBenchArgs, type Options } from '../../bench/args.js';

const SPEC = {
  json: { kind: 'flag', help: 'JSON only' },
  steps: { kind: 'int', help: 'timed steps' },
  warmup: { kind: 'int', min: 0, default: 2, help: 'warm-up steps' },
  batches: { kind: 'ints', default: [32, 64], help: 'batch sizes' },
  precision: { kind: 'string', choices: ['fp32', 'bf16'], default: 'fp32', help: 'precision' },
  formats: { kind: 'strings', choices: ['contiguous', 'channels_last'], help: 'formats' },
  measureOne: { kind: 'string', internal: true, help: 'child mode' },
} satisfies Options;

const bad = (argv: string[]): string => {
  try {
    parseBenchArgs(SPEC, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(BenchArgsError);
    return (e as Error).message;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
};

describe('bench options', () => {
  it('gives the declared defaults, undefined where none is declared, and false for absent flags', () => {
    expect(parseBenchArgs(SPEC, [])).toEqual({ json: false, steps: undefined, warmup: 2, batches: [32, 64], precision: 'fp32', formats: undefined, measureOne: undefined });
  });

  it('parses every kind, camelCase keys as kebab-case options, both --name value and --name=value', () => {
    const a = parseBenchArgs(SPEC, ['--json', '--steps', '5', '--warmup=0', '--batches', '8,16', '--precision', 'bf16', '--formats', 'channels_last,contiguous', '--measure-one', '32,contiguous,fp32']);
    expect(a).toEqual({ json: true, steps: 5, warmup: 0, batches: [8, 16], precision: 'bf16', formats: ['channels_last', 'contiguous'], measureOne: '32,contiguous,fp32' });
  });

  it('rejects an undeclared option (a typo), a positional argument and a missing value', () => {
    expect(bad(['--step', '5'])).toBe("Unknown option '--step' (did you mean --steps?)");
    expect(bad(['--seed', '5'])).toMatch(/^Unknown option '--seed'/);
    expect(bad(['5'])).toMatch(/5/);
    expect(bad(['--steps'])).toMatch(/--steps/);
  });

  it('rejects values of the wrong kind or out of range, naming the option and what it takes', () => {
    expect(bad(['--steps', 'a'])).toBe("--steps takes a whole number >= 1, got 'a'");
    expect(bad(['--steps', '2.5'])).toMatch(/--steps takes a whole number/);
    expect(bad(['--steps', '0'])).toMatch(/>= 1, got '0'/);
    expect(bad(['--warmup=-1'])).toMatch(/--warmup takes a whole number >= 0/);
    expect(bad(['--warmup', '-1'])).toMatch(/--warmup/); // node's parser: a value that looks like an option
    expect(bad(['--batches', '32,x'])).toBe("--batches takes whole numbers >= 1, got 'x'");
    expect(bad(['--precision', 'fp16'])).toBe("--precision takes one of fp32, bf16, got 'fp16'");
    expect(bad(['--formats', 'channels_last,nhwc'])).toMatch(/--formats takes one of contiguous, channels_last \(several separated by commas\), got 'nhwc'/);
  });

  it('a required option stops the script when absent, and is marked in --help', () => {
    const spec = { out: { kind: 'string', required: true, help: 'the folder' }, seed: { kind: 'int', default: 0, min: 0, help: 'seed' } } as const;
    expect(() => parseBenchArgs(spec, ['--seed', '1'])).toThrow(new BenchArgsError('--out is required'));
    const parsed = parseBenchArgs(spec, ['--out', '/tmp/x']);
    const out: string = parsed.out; // typed as given, not string | undefined
    expect(out).toBe('/tmp/x');
    expect(benchHelp('Usage: gen', spec)).toMatch(/--out VALUE +\(required\) the folder\n/);
  });

  it('--help lists every public option with its default, and no internal one', () => {
    const help = benchHelp('Usage: bench', SPEC);
    expect(help).toMatch(/^Usage: bench\n/);
    expect(help).toMatch(/--warmup N +warm-up steps \(default 2\)/);
    expect(help).toMatch(/--batches N,N +batch sizes \(default 32,64\)/);
    expect(help).toMatch(/--precision fp32\|bf16 +precision \(default fp32\)/);
    expect(help).toMatch(/--json +JSON only\n/);
    expect(help).not.toMatch(/measure-one/);
    const every = benchHelp('Usage: bench', { formats: { kind: 'strings', choices: ['contiguous', 'channels_last'], default: ['channels_last', 'contiguous'], help: 'formats' } });
    expect(every).toMatch(/formats \(default all\)/);
  });

  it('a bench script stops before any work on a mistyped option (exit 2, the message and the way to --help)', () => {
    const script = fileURLToPath(new URL('../../dist/bench/gmm.js', import.meta.url));
    const r = spawnSync(process.execPath, [script, '--repeat', '1'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--repeat/);
    expect(r.stderr).toMatch(/--help lists the options/);
    expect(r.stdout).toBe('');
    const help = spawnSync(process.execPath, [script, '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--n-init N +initialisations per fit/);
  });
});
