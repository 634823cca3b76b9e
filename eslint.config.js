// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  // ops.generated.ts is written by scripts/gen-ops.ts from libtorch's schemas.
  { ignores: ['dist/**', 'native/build/**', 'node_modules/**', 'runs/**', 'cache/**', 'test-artifacts/**', 'src/torch/ops.generated.ts'] },
  { languageOptions: { globals: { ...globals.node } } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // node-gyp runs native/libtorch.cjs as CommonJS.
  { files: ['**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
