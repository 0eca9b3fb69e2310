// @ts-check
import tseslint from 'typescript-eslint';
import angular from 'angular-eslint';

const LIB = 'projects/ngx-oidc-session/src/lib';
const ALL_LAYERS = ['core', 'platform', 'state', 'protocol', 'tabs', 'renew', 'http', 'router'];

/** One rule per layer folder: its source files may import only from the layers below it. */
function layers(allowed) {
  return allowed.map(([layer, below]) => ({
    files: [`${LIB}/${layer}/**/*.ts`],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...ALL_LAYERS.filter((other) => other !== layer && !below.includes(other)).map((other) => `../${other}/*`), '../*.service', '../provide-auth'],
              message: `${layer}/ may import only from ${below.join(', ') || 'nothing below it'}: the layers without back-edges.`,
            },
          ],
        },
      ],
    },
  }));
}

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
  // The library's layers (README: the workspace): nothing imports from a layer above its own.
  ...layers([
    ['core', []],
    ['platform', ['core']],
    ['state', ['core', 'platform']],
    ['tabs', ['core', 'platform', 'state']],
    ['protocol', ['core', 'platform', 'state', 'tabs']],
    ['renew', ['core', 'platform', 'state', 'protocol', 'tabs']],
  ]),
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
