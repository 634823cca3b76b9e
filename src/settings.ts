/**
 * Settings declared once. A setting is a name with a type, a default, a range and one line of
 * help; defaults, validation, the error messages, `mmgap methods`, the CLI flags and the JSON
 * schema are all derived from the declaration (scikit-learn's get_params/set_params is the
 * model). The run config, the purification config and every method's options use it.
 */

interface Base<T> {
  default: T;
  /** One line for --help, `mmgap methods` and the docs. */
  help: string;
}
export interface NumberSetting extends Base<number> {
  type: 'number';
  min?: number;
  max?: number;
  /** True when the minimum itself is not allowed (e.g. lr > 0). */
  exclusiveMin?: boolean;
  /** True when the maximum itself is not allowed. */
  exclusiveMax?: boolean;
  integer?: boolean;
}
export interface ChoiceSetting<C extends string = string> extends Base<C> {
  type: 'choice';
  choices: readonly C[];
}
export interface StringSetting extends Base<string> {
  type: 'string';
  /** Checks a value with a grammar of its own; returns what is wrong with it, or null. */
  check?: (v: string) => string | null;
}
export interface BooleanSetting extends Base<boolean> {
  type: 'boolean';
}
/** A free-form object of JSON values (dataset and method options: validated by their owner). */
export interface RecordSetting extends Base<Record<string, unknown>> {
  type: 'record';
}
export type Setting = NumberSetting | ChoiceSetting | StringSetting | BooleanSetting | RecordSetting;
export type Settings = Record<string, Setting>;

/** The value type of one setting. */
export type ValueOf<S extends Setting> =
  S extends ChoiceSetting<infer C> ? C
  : S extends NumberSetting ? number
  : S extends BooleanSetting ? boolean
  : S extends RecordSetting ? Record<string, unknown>
  : string;
/** The resolved values of a group of settings. */
export type Values<S extends Settings> = { -readonly [K in keyof S]: ValueOf<S[K]> };

/** A wrong setting: the message names the owner (e.g. "ogm-ge" or "config"), the setting and what it accepts. */
export class SettingError extends Error {
  constructor(message: string, readonly key: string | null) {
    super(message);
  }
}

/** Declares a group of settings, keeping the literal types of choices (so `Values` is precise). */
export function settings<const S extends Settings>(s: S): S {
  return s;
}

/** "an integer in [1, 100]", "one of sgd, adam", ...: what a setting accepts, for errors and help. */
export function accepts(s: Setting): string {
  switch (s.type) {
    case 'number': {
      const what = s.integer ? 'an integer' : 'a number';
      const lo = s.min ?? -Infinity, hi = s.max ?? Infinity;
      if (lo === -Infinity && hi === Infinity) return what;
      if (hi === Infinity) return `${what} ${s.exclusiveMin ? '>' : '>='} ${lo}`;
      if (lo === -Infinity) return `${what} ${s.exclusiveMax ? '<' : '<='} ${hi}`;
      return `${what} in ${s.exclusiveMin ? '(' : '['}${lo}, ${hi}${s.exclusiveMax ? ')' : ']'}`;
    }
    case 'choice': return `one of ${s.choices.join(', ')}`;
    case 'string': return 'a non-empty string';
    case 'boolean': return 'true or false';
    case 'record': return 'an object of key: value pairs';
  }
}

/** True when `v` is a valid value of `s`. */
export function isValid(s: Setting, v: unknown): boolean {
  switch (s.type) {
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v) || (s.integer && !Number.isInteger(v))) return false;
      const lo = s.min ?? -Infinity, hi = s.max ?? Infinity;
      return (s.exclusiveMin ? v > lo : v >= lo) && (s.exclusiveMax ? v < hi : v <= hi);
    }
    case 'choice': return typeof v === 'string' && s.choices.includes(v);
    case 'string': return typeof v === 'string' && v !== '';
    case 'boolean': return typeof v === 'boolean';
    case 'record': return typeof v === 'object' && v !== null && !Array.isArray(v);
  }
}

/** The defaults of a group (fresh objects for record settings). */
export function defaultsOf<S extends Settings>(specs: S): Values<S> {
  return Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, s.type === 'record' ? { ...s.default } : s.default])) as Values<S>;
}

/**
 * The defaults overridden by `input`, validated: an unknown key or a wrong value throws a
 * SettingError "<owner>: <key> must be <accepts>, got <value>". `undefined` values mean "not given".
 */
export function resolveSettings<S extends Settings>(owner: string, specs: S, input: Record<string, unknown>, what = 'option'): Values<S> {
  for (const k of Object.keys(input)) {
    if (!(k in specs) && input[k] !== undefined) {
      throw new SettingError(`${owner}: unknown ${what} "${k}" (known: ${Object.keys(specs).join(', ') || 'none'})`, k);
    }
  }
  const out = defaultsOf(specs) as Record<string, unknown>;
  for (const [k, s] of Object.entries(specs)) {
    const v = input[k];
    if (v === undefined) continue;
    if (!isValid(s, v)) throw new SettingError(`${owner}: ${what} ${k} must be ${accepts(s)}, got ${JSON.stringify(v)}`, k);
    const problem = s.type === 'string' && s.check ? s.check(v as string) : null;
    if (problem) throw new SettingError(`${owner}: ${what} ${k}: ${problem}`, k);
    out[k] = v;
  }
  return out as Values<S>;
}

/**
 * Parses a command-line string into a setting's value (numbers as numbers, booleans as
 * true/false); the value is then validated by resolveSettings, so flags and config files get
 * the same checks and the same messages.
 */
export function parseSettingValue(s: Setting, text: string): unknown {
  if (s.type === 'number') {
    const n = Number(text);
    return text.trim() === '' || !Number.isFinite(n) ? text : n;
  }
  if (s.type === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
  return text;
}

/** JSON Schema (draft 2020-12) of a group of settings: every key optional, no others allowed. */
export function jsonSchemaOf(specs: Settings): Record<string, unknown> {
  const prop = (s: Setting): Record<string, unknown> => {
    const base = { description: s.help, default: s.default };
    switch (s.type) {
      case 'number': return {
        ...base, type: s.integer ? 'integer' : 'number',
        ...(s.min !== undefined && { [s.exclusiveMin ? 'exclusiveMinimum' : 'minimum']: s.min }),
        ...(s.max !== undefined && { [s.exclusiveMax ? 'exclusiveMaximum' : 'maximum']: s.max }),
      };
      case 'choice': return { ...base, enum: [...s.choices] };
      case 'string': return { ...base, type: 'string', minLength: 1 };
      case 'boolean': return { ...base, type: 'boolean' };
      case 'record': return { ...base, type: 'object' };
    }
  };
  return { type: 'object', additionalProperties: false, properties: Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, prop(s)])) };
}

/** `key=value` as `mmgap methods` prints it: strings bare (the CLI takes them so). */
export function formatValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
