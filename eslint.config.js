// Type-aware linting: the promise rules catch un-awaited writes, the classic at-least-once bug.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.scratch/**', 'mediaflow-data/**', 'events/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through loadConfig(env) at the edge.' }],
    },
  },
  {
    // The edges that legitimately read the environment: config loading, the CLI, scripts, benches and tests.
    files: ['shared/config/**', 'cli/**', 'scripts/**', 'bench/**', 'test/**', 'vitest.config.ts', 'functions/index.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Test doubles implement async ports with bodies that need no await.
    files: ['test/**'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
);
