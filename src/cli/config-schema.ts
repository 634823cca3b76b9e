/** Validation of RunConfig values (config files and the merged result) with zod. */
import { z } from 'zod';
import type { PurifyConfig, RunConfig } from '../train/types.js';
import { ENCODER_HELP, FUSION_HELP } from './run-flags.js';

const keys = <T extends string>(r: Record<T, string>): [T, ...T[]] => Object.keys(r) as [T, ...T[]];

const purifyObject = z.strictObject({
  tau: z.number().gt(0).max(1),
  epochs: z.int().min(1),
  lrFactor: z.number().gt(0),
  loss: z.enum(['ce', 'adaptive']),
});
export const purifySchema: z.ZodType<PurifyConfig> = purifyObject;

const fields = {
  data: z.string().min(1),
  dataOptions: z.record(z.string(), z.unknown()),
  method: z.string().min(1),
  methodOptions: z.record(z.string(), z.unknown()),
  encoder: z.enum(keys(ENCODER_HELP)),
  fusion: z.enum(keys(FUSION_HELP)),
  width: z.int().min(1),
  epochs: z.int().min(1),
  warmup: z.int().min(0),
  batchSize: z.int().min(1),
  optimizer: z.enum(['sgd', 'adam', 'adamw']),
  lr: z.number().gt(0),
  momentum: z.number().min(0).lt(1),
  weightDecay: z.number().min(0),
  schedule: z.enum(['none', 'step', 'cosine']),
  stepSize: z.int().min(1),
  gamma: z.number().gt(0),
  seed: z.int().min(0),
  device: z.string().min(1),
  threads: z.int().min(0),
  workers: z.int().min(0),
  skipBadSamples: z.boolean(),
};

/** A complete RunConfig. */
export const runConfigSchema: z.ZodType<RunConfig> = z
  .strictObject({ ...fields, purify: purifySchema.nullable() })
  .refine((c) => c.warmup < c.epochs, { path: ['warmup'], message: 'warm-up must leave at least one epoch of training (warmup < epochs)' });

/** What a config file may hold: any subset of the fields; `purify` also as true/false or a partial object. */
export const configFileSchema = z.strictObject({
  ...Object.fromEntries(Object.entries(fields).map(([k, s]) => [k, s.optional()])),
  purify: z.union([z.boolean(), z.null(), purifyObject.partial()]).optional(),
}) as unknown as z.ZodType<ConfigFile>;

export type ConfigFile = Partial<Omit<RunConfig, 'purify'>> & { purify?: boolean | null | Partial<PurifyConfig> };

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), input);
}

/** The first issue as "field": problem (got value). */
export function describeIssue(error: z.ZodError, input: unknown): string {
  const issue = error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}${issue.path.length ? ` in "${issue.path.join('.')}"` : ''}`;
  }
  const field = issue.path.join('.');
  const problem = issue.message.replace(/^(Invalid input|Invalid option|Too small|Too big): /, '');
  const got = valueAt(input, issue.path);
  return `"${field}": ${problem}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
}
