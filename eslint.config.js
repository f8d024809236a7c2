// @ts-check
import js from '@eslint/js'
import svelte from 'eslint-plugin-svelte'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/** The seams that keep the layers apart (ARCHITECTURE.md, "Dependency rules"). */
const dashboardBoundary = {
  regex: '(^|/)server/(?!contract/)',
  message: 'The dashboard imports from the server only through server/contract/ (the declared API).',
}
const pureBoundary = {
  group: ['**/server/**', '**/dashboard/**'],
  message: 'alerts/ is the pure engine: no imports from server/ or dashboard/.',
}
const contractBoundary = {
  regex: '^\\.\\./(?!\\.\\./alerts/)',
  message: 'server/contract/ is pure: it imports nothing else from server/ (only TypeBox and the pure alerts/ engine).',
}
const evaluationBoundary = {
  group: ['**/notification/**'],
  message: 'server/alerts/evaluation/ reaches notification only through the Notifier seam (server/alerts/notifier.ts).',
}
const notificationBoundary = {
  group: ['**/evaluation/**'],
  message: 'server/alerts/notification/ imports nothing of evaluation/; the Notifier seam is all they share.',
}

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'dashboard/dist/',
      'data/',
      'coverage/',
      'test/e2e/artifacts/',
      'test/bench/results/',
      '**/*.d.mts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      // Reactivity is declared with $state; a Map or URLSearchParams that is local or deliberately
      // non-reactive (caches inside state classes, a query string being built) is not state.
      'svelte/prefer-svelte-reactivity': 'off',
    },
  },
  {
    files: ['dashboard/**/*.svelte', 'dashboard/**/*.svelte.ts'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: {
        parser: tseslint.parser,
        extraFileExtensions: ['.svelte'],
        svelteFeatures: { experimentalGenerics: true },
      },
    },
  },
  {
    files: ['dashboard/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: { 'no-restricted-imports': ['error', { patterns: [dashboardBoundary] }] },
  },
  // Tests read JSON bodies of many shapes; `any` there is a reading aid, not an API.
  { files: ['test/**', 'dashboard/test/**'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  // Migrations are frozen and written against Kysely<any> on purpose (they must not import app types).
  { files: ['server/db/migrations/**'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  { files: ['alerts/**'], rules: { 'no-restricted-imports': ['error', { patterns: [pureBoundary] }] } },
  {
    files: ['server/alerts/evaluation/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [evaluationBoundary] }] },
  },
  {
    files: ['server/alerts/notification/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [notificationBoundary] }] },
  },
  { files: ['server/contract/**'], rules: { 'no-restricted-imports': ['error', { patterns: [contractBoundary] }] } },
)
