// Usage: node --import ./test/data/helpers/register-ts.mjs some.ts  (or as a worker execArgv)
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
