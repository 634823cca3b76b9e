/**
 * The methods that play a role elsewhere, by name, engine-free (the CLI validates and prints help
 * before libtorch starts). The trainer, the CLI and the bench ask for a role, never for a method
 * by name; the registry checks that every role names a registered method.
 */
export const ROLES = {
  /** The default of --method: mmgap's own method. */
  default: 'gmm-adaptive',
  /** The reference row of every comparison (bench's --reference default). */
  reference: 'joint',
  /** Plain fused cross-entropy: the shared warm-up and purification's 'ce' fine-tuning. */
  plain: 'joint',
} as const;
export type Role = keyof typeof ROLES;
