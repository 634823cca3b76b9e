/** The --split option of the run-directory commands. */
import { Option } from 'commander';
import { SPLITS, type Split } from '../../data/types.js';

export function splitOption(dflt: Split): Option {
  return new Option('--split <split>', 'split to use').choices(SPLITS).default(dflt);
}
