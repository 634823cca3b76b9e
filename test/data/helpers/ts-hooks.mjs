// Node module hooks that let worker threads (and ad-hoc scripts) run the TypeScript sources
// directly: ".js" specifiers fall back to the ".ts" file, and ".ts" is transpiled by esbuild
// (vitest's own transformer). Registered by register-ts.mjs; test-only.
import { existsSync, readFileSync } from 'node:fs';
import { URL, fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';

export async function resolve(specifier, context, next) {
  if (specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const url = new URL(specifier, context.parentURL);
    if (url.protocol === 'file:' && !existsSync(fileURLToPath(url))) {
      const ts = url.href.replace(/\.js$/, '.ts');
      if (existsSync(fileURLToPath(ts))) return { url: ts, shortCircuit: true, format: 'module' };
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url.endsWith('.ts')) {
    const { code } = transformSync(readFileSync(fileURLToPath(url), 'utf8'), { loader: 'ts', format: 'esm', sourcefile: fileURLToPath(url), target: 'node20' });
    return { format: 'module', source: code, shortCircuit: true };
  }
  return next(url, context);
}
