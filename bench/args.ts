/**
 * The bench scripts' command-line options, each declared once (kind, default, help): parsing,
 * checks and the --help text come from the declaration. An option a script does not declare, a
 * value of the wrong kind or out of range, stops it with a message naming the option and what it
 * takes, so a mistyped `--round 8` cannot quietly time one round, nor `--seeds a` train seed NaN.
 */
import { parseArgs } from 'node:util';

export type OptionKind = 'flag' | 'int' | 'string' | 'ints' | 'strings';
type ValueOf<K extends OptionKind> = K extends 'flag' ? boolean : K extends 'int' ? number : K extends 'string' ? string : K extends 'ints' ? readonly number[] : readonly string[];

export interface Option<K extends OptionKind = OptionKind> {
  kind: K;
  help: string;
  /** The value when the option is not given (a flag's is false); without one, undefined. */
  default?: ValueOf<K>;
  /** int, ints: the smallest accepted value (1 unless given). */
  min?: number;
  /** string, strings: the accepted values. */
  choices?: readonly string[];
  /** Passed by the script to its own child processes; left out of --help. */
  internal?: boolean;
  /** The script cannot run without it (no default makes sense, e.g. the folder a generator writes). */
  required?: boolean;
}

export type Options = Record<string, Option>;
/** The parsed values, by the declaration's keys (camelCase; the option is its kebab-case). */
export type Parsed<S extends Options> = {
  -readonly [N in keyof S]: S[N] extends Option<infer K> ? (K extends 'flag' ? boolean : S[N] extends { default: unknown } | { required: true } ? ValueOf<K> : ValueOf<K> | undefined) : never;
};

/** A bad command line: the message names the option and what it takes. */
export class BenchArgsError extends Error {}

const optionName = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function convert(name: string, o: Option, raw: string): unknown {
  const int = (s: string): number => {
    const min = o.min ?? 1;
    const v = /^-?\d+$/.test(s.trim()) ? Number(s) : NaN;
    if (!Number.isSafeInteger(v) || v < min) throw new BenchArgsError(`${name} takes ${o.kind === 'ints' ? 'whole numbers' : 'a whole number'} >= ${min}, got '${s}'`);
    return v;
  };
  const choice = (s: string): string => {
    if (s === '' || (o.choices && !o.choices.includes(s))) {
      throw new BenchArgsError(`${name} takes ${o.choices ? `one of ${o.choices.join(', ')}` : 'a value'}${o.kind === 'strings' ? ' (several separated by commas)' : ''}, got '${s}'`);
    }
    return s;
  };
  switch (o.kind) {
    case 'int': return int(raw);
    case 'ints': return raw.split(',').map(int);
    case 'string': return choice(raw);
    case 'strings': return raw.split(',').map((s) => choice(s.trim()));
    case 'flag': return true;
  }
}

/** Parses `argv` by `spec`; throws BenchArgsError on anything the declaration does not accept. */
export function parseBenchArgs<S extends Options>(spec: S, argv: string[]): Parsed<S> {
  const keys = Object.keys(spec);
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: Object.fromEntries(keys.map((k) => [optionName(k).slice(2), { type: spec[k]?.kind === 'flag' ? 'boolean' as const : 'string' as const }])),
    }));
  } catch (e) {
    // Node's parser names an unknown option; add the declared ones it could be a typo of.
    const unknown = /^Unknown option '(--[^']+)'/.exec((e as Error).message)?.[1];
    const near = unknown ? keys.map(optionName).filter((n) => n.startsWith(unknown) || unknown.startsWith(n)) : [];
    throw new BenchArgsError(`${(e as Error).message}${near.length ? ` (did you mean ${near.join(' or ')}?)` : ''}`);
  }
  return Object.fromEntries(keys.map((k) => {
    const o = spec[k] as Option;
    const raw = values[optionName(k).slice(2)];
    if (raw === undefined && o.required) throw new BenchArgsError(`${optionName(k)} is required`);
    return [k, raw === undefined ? (o.kind === 'flag' ? false : o.default) : convert(optionName(k), o, String(raw))];
  })) as Parsed<S>;
}

/** The --help text: `usage`, then every option that is not internal, with its default. */
export function benchHelp(usage: string, spec: Options): string {
  // Short lists of choices go in the option's column; long ones after its help.
  const listed = (o: Option): boolean => o.choices !== undefined && o.choices.join('|').length <= 30;
  const hint = (o: Option): string => {
    switch (o.kind) {
      case 'flag': return '';
      case 'int': return ' N';
      case 'ints': return ' N,N';
      case 'string': return listed(o) ? ` ${o.choices!.join('|')}` : o.choices ? ' NAME' : ' VALUE';
      case 'strings': return listed(o) ? ` ${o.choices!.join(',')}` : ' NAME,NAME';
    }
  };
  const rows = Object.entries(spec).filter(([, o]) => !o.internal).map(([k, o]) => {
    const all = Array.isArray(o.default) && o.choices?.length === o.default.length && o.choices.every((c) => (o.default as unknown[]).includes(c));
    const shown = all ? 'all' : Array.isArray(o.default) ? o.default.join(',') : o.default;
    const choices = o.choices && !listed(o) ? `; one of ${o.choices.join(', ')}` : '';
    return [`  ${optionName(k)}${hint(o)}`, `${o.required ? '(required) ' : ''}${o.help}${choices}${o.kind !== 'flag' && shown !== undefined ? ` (default ${shown})` : ''}`] as const;
  });
  rows.push(['  --help', 'this text']);
  // A label wider than the column puts its help on the next line.
  const width = Math.min(32, Math.max(...rows.map(([l]) => l.length))) + 2;
  const line = ([l, h]: readonly [string, string]): string => (l.length + 2 > width ? `${l}\n${' '.repeat(width)}${h}` : `${l.padEnd(width)}${h}`);
  return `${usage}\n\nOptions:\n${rows.map(line).join('\n')}\n`;
}

/**
 * The script's options from process.argv: prints the help and exits 0 on --help, prints the
 * error and the way to the help and exits 2 on a bad command line.
 */
export function benchArgs<S extends Options>(usage: string, spec: S, argv: string[] = process.argv.slice(2)): Parsed<S> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(benchHelp(usage, spec));
    process.exit(0);
  }
  try {
    return parseBenchArgs(spec, argv);
  } catch (e) {
    if (!(e instanceof BenchArgsError)) throw e;
    process.stderr.write(`${e.message}\n${usage.split('\n')[0]} (--help lists the options)\n`);
    process.exit(2);
  }
}
