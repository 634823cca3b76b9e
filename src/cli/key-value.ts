/** `--method-opt key=value` / `--data-opt key=value`: values are JSON when they parse as JSON, else strings. */
import { InvalidArgumentError } from 'commander';

export function parseKeyValue(arg: string): [string, unknown] {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, e.g. beta=0.5`);
  const raw = arg.slice(eq + 1);
  try {
    return [arg.slice(0, eq), JSON.parse(raw)];
  } catch {
    return [arg.slice(0, eq), raw];
  }
}

/** A commander collector for repeated key=value options. */
export function collectKeyValue(arg: string, previous: Record<string, unknown> | undefined): Record<string, unknown> {
  const [k, v] = parseKeyValue(arg);
  return { ...previous, [k]: v };
}
