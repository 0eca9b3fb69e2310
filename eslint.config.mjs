// @ts-check
import tseslint from 'typescript-eslint';
import angular from 'angular-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', 'out-tsc/**', '.angular/**', 'node_modules/**', 'compat/.pack/**', 'compat/*/node_modules/**', 'compat/*/dist/**', 'compat/*/.angular/**', 'compat/*/src/app/shared/**', 'bench/node_modules/**', 'bench/results/**', '.test-results/**', 'e2e/artifacts/**'],
  },
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommended, ...angular.configs.tsRecommended],
    processor: angular.processInlineTemplates,
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@angular-eslint/directive-selector': ['error', { type: 'attribute', prefix: ['app', 'auth', 'bench'], style: 'camelCase' }],
      '@angular-eslint/component-selector': ['error', { type: 'element', prefix: ['app', 'auth', 'bench'], style: 'kebab-case' }],
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.html'],
    extends: [...angular.configs.templateRecommended, ...angular.configs.templateAccessibility],
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    extends: [tseslint.configs.eslintRecommended],
    languageOptions: {
      globals: {
        process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly', setTimeout: 'readonly',
        clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly',
        require: 'readonly', module: 'writable', __dirname: 'readonly', AbortSignal: 'readonly', Response: 'readonly',
        URLSearchParams: 'readonly', TextEncoder: 'readonly', crypto: 'readonly', structuredClone: 'readonly',
        window: 'readonly', document: 'readonly', location: 'readonly', navigator: 'readonly', Headers: 'readonly',
        AbortController: 'readonly', queueMicrotask: 'readonly', performance: 'readonly',
      },
    },
    rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }] },
  },
);
