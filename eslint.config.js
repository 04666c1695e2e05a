// Lint: typescript-eslint's type-aware rules, no import cycles, and the layering of docs/design.md
// ("Where things live") as restricted-path zones. `npm run lint` runs this and the formatter check.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const server = 'packages/server/src';
const web = 'packages/web/src';

/** Each zone: files under `target` may not import files under `from` (except `except`). */
const zones = [
  // The contracts are the leaf every package shares; they import none of them.
  {
    target: 'packages/contracts/src',
    from: ['packages/server', 'packages/web', 'packages/testkit'],
    message: 'contracts import nothing of ours',
  },
  // Server: http → jobs → store | images. Only store/open-store.ts names a concrete store.
  { target: `${server}/jobs`, from: [`${server}/http`, `${server}/app.ts`, `${server}/main.ts`], message: 'jobs/ never imports http/' },
  {
    target: `${server}/store`,
    from: [`${server}/http`, `${server}/jobs`, `${server}/images`, `${server}/app.ts`, `${server}/main.ts`],
    message: 'store/ knows nothing of http/, jobs/ or images/',
  },
  {
    target: `${server}/images`,
    from: [`${server}/http`, `${server}/jobs`, `${server}/store`, `${server}/app.ts`, `${server}/main.ts`],
    message: 'images/ knows nothing of http/, jobs/ or the store',
  },
  {
    target: [`${server}/config`, `${server}/clock.ts`, `${server}/metrics.ts`, `${server}/backoff.ts`],
    from: [`${server}/http`, `${server}/jobs`, `${server}/store`, `${server}/images`, `${server}/app.ts`, `${server}/main.ts`],
    message: 'config/, clock, metrics and backoff import nothing else of the server',
  },
  {
    target: server,
    from: [`${server}/store/file`, `${server}/store/postgres`],
    except: [],
    message: 'only store/open-store.ts names a concrete store; import store/job-store.ts',
  },
  // Bench: starts the built server as a process (testkit), or opens a built store or image source
  // to measure it alone; never the sources, the HTTP side or the scheduler.
  {
    target: 'bench',
    from: ['packages/server/src', 'packages/web', 'packages/server/dist/http', 'packages/server/dist/jobs'],
    message:
      "bench/ measures the built server through HTTP, or a built store or image source alone; not the server's sources, HTTP side or scheduler",
  },
  // Web: app → features → lib; lib imports no feature, features import no app.
  { target: `${web}/lib`, from: [`${web}/features`, `${web}/app`], message: 'lib/ imports no feature and not the app' },
  { target: `${web}/features`, from: [`${web}/app`], message: 'features/ never import app/' },
];

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'bench/results/**', 'packages/web/public/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  importX.flatConfigs.typescript,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        project: [
          './tsconfig.test.json',
          './packages/contracts/tsconfig.json',
          './packages/server/tsconfig.json',
          './packages/testkit/tsconfig.json',
          './packages/web/tsconfig.json',
          './packages/web/e2e/tsconfig.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    settings: {
      // Resolves `./x.js` to `./x.ts`, as TypeScript does, so zones and cycles see every import.
      'import-x/resolver-next': [
        createTypeScriptImportResolver({ project: ['packages/*/tsconfig.json', 'tsconfig.test.json'], noWarnOnMultipleProjects: true }),
      ],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `void promise` marks a promise deliberately not awaited.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      '@typescript-eslint/only-throw-error': 'off',
      // Fastify plugins and store methods are async by contract even when they have nothing to await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // Matchers such as expect.any() are typed `any`; tests assert on shapes, not on types.
    files: ['**/test/**/*.ts', '**/e2e/**/*.ts', '**/*.test.ts', '**/*.test.tsx'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off', '@typescript-eslint/no-unsafe-member-access': 'off' },
  },
  {
    files: ['packages/*/src/**/*.{ts,tsx}'],
    ignores: ['**/*.test.ts', '**/*.test.tsx'],
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
    },
  },
  {
    files: ['bench/**/*.js'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: zones.filter((zone) => zone.target === 'bench') }] },
  },
  {
    // The one place that names concrete stores.
    files: [`${server}/store/open-store.ts`, `${server}/store/file/**`, `${server}/store/postgres/**`],
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: zones.filter((zone) => !zone.message.startsWith('only store/open-store')) }],
    },
  },
  {
    files: ['packages/web/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      // The page takes the contract's values from its typebox-free entry; the schemas would weigh down the bundle.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@simmer/contracts',
              allowTypeImports: true,
              message: "the page imports values from '@simmer/contracts/constants' (no typebox in the bundle); types may come from here",
            },
          ],
        },
      ],
    },
  },
  {
    // Plain JavaScript (bench, configs): no type information to lean on.
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
