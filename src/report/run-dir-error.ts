/** A run directory that cannot be read as one of this version's runs; the message names the fix. */
export class RunDirError extends Error {
  override name = 'RunDirError';
}
