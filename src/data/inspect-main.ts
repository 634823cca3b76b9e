/**
 * Interim entry until the CLI wires `mmgap data inspect`:
 *   node dist/src/data/inspect-main.js SPEC [--json] [--skip-bad-samples] [--set key=value ...]
 * Values of --set are parsed as JSON when they can be (numbers, booleans, arrays), else strings.
 */
import { formatReport, inspectDataset } from './inspect.js';
import type { OpenOptions } from './types.js';

function parseArgs(argv: string[]): { spec: string; json: boolean; options: OpenOptions } {
  const options: OpenOptions = {};
  let spec = '';
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') json = true;
    else if (a === '--skip-bad-samples') options.skipBadSamples = true;
    else if (a === '--set') {
      const kv = argv[++i] ?? '';
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new Error(`--set expects key=value, got "${kv}"`);
      const raw = kv.slice(eq + 1);
      let value: unknown = raw;
      try {
        value = JSON.parse(raw);
      } catch {
        // a plain string
      }
      options[kv.slice(0, eq)] = value;
    } else if (!spec) spec = a;
    else throw new Error(`unexpected argument "${a}"`);
  }
  if (!spec) throw new Error('usage: inspect-main SPEC [--json] [--skip-bad-samples] [--set key=value ...]');
  return { spec, json, options };
}

try {
  const { spec, json, options } = parseArgs(process.argv.slice(2));
  const report = await inspectDataset(spec, options);
  console.log(json ? JSON.stringify(report) : formatReport(report));
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  process.exitCode = 1;
}
