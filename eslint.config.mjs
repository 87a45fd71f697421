// ESLint flat config: @eslint/js recommended + typescript-eslint recommended, plus the side-effect
// boundaries of reference/style.md enforced with `no-restricted-imports`.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Node globals for the plain JavaScript files (TypeScript files get them from @types/node). */
const nodeGlobals = Object.fromEntries(
  ['process', 'console', 'Buffer', 'URL', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'].map((g) => [
    g,
    'readonly',
  ]),
);
const commonjsGlobals = {
  require: 'readonly',
  module: 'writable',
  exports: 'writable',
  __dirname: 'readonly',
  __filename: 'readonly',
};

/**
 * Each boundary names the imports it restricts and the only files allowed to make them. Everything under
 * core/, barclamps/ and workloads/ is checked; test/ and scripts/ are harnesses that may reach a dependency
 * directly (a test helper dropping a Postgres schema, a script driving the schema engine).
 *
 * NOTE: a rule's options do not merge across flat-config blocks (the last matching block wins), so the
 * blocks below are generated: one for all checked code with every restriction, then one per privileged
 * directory with every restriction except the ones it is allowed. `import type` is restricted too.
 * Dynamic `import()` is not covered by this rule; `require()` is already an error (no-require-imports).
 */
const boundaries = [
  {
    id: 'prisma',
    allowedIn: ['core/store/**'],
    patterns: [
      {
        group: ['@prisma/*', 'prisma', 'prisma/*', '.prisma/*'],
        message: 'Only core/store/ may import Prisma; go through a core/store function.',
      },
      {
        regex: '(^|/)generated/(sqlite|postgresql)(/|$)',
        message: 'Only core/store/ may import the generated Prisma clients; go through a core/store function.',
      },
    ],
  },
  {
    id: 'node-ssh',
    allowedIn: ['core/exec/**'],
    paths: [{ name: 'node-ssh', message: 'Only core/exec/ may import node-ssh; use the executor from the context.' }],
  },
  {
    id: 'handlebars',
    allowedIn: ['core/templates/**'],
    patterns: [
      {
        group: ['handlebars', 'handlebars/*'],
        message: 'Only core/templates/ may import handlebars; use the template renderer.',
      },
    ],
  },
  {
    id: 'bottleneck',
    allowedIn: ['core/annealer/limits.ts'],
    patterns: [
      {
        group: ['bottleneck', 'bottleneck/*'],
        message: 'Only core/annealer/limits.ts may import bottleneck.',
      },
    ],
  },
];

/** Extra restrictions for the pure domain layer (on top of every boundary above). */
const domainOnly = {
  paths: ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'child_process', 'node:child_process'].map((name) => ({
    name,
    message: 'core/domain/ is pure: no filesystem or process access. Do the I/O in a caller and pass the data in.',
  })),
  patterns: [
    {
      regex: '^(\\.\\./)+(core/)?(store|api|annealer)(/|$)',
      message: 'core/domain/ is pure and may not import core/store, core/api or core/annealer.',
    },
  ],
};

const checkedFiles = ['core/**/*.ts', 'barclamps/**/*.ts', 'workloads/**/*.ts', 'bin/**/*.ts'];

/** no-restricted-imports options for every boundary except the ones in `allowed`, plus `extra`. */
function restrictions(allowed = [], extra = { paths: [], patterns: [] }) {
  const active = boundaries.filter((b) => !allowed.includes(b.id));
  return [
    'error',
    {
      paths: [...active.flatMap((b) => b.paths ?? []), ...extra.paths],
      patterns: [...active.flatMap((b) => b.patterns ?? []), ...extra.patterns],
    },
  ];
}

const boundaryBlocks = [
  { name: 'anneal/boundaries', files: checkedFiles, rules: { 'no-restricted-imports': restrictions() } },
  ...boundaries.map((b) => ({
    name: `anneal/boundaries/${b.id}`,
    files: b.allowedIn,
    rules: { 'no-restricted-imports': restrictions([b.id]) },
  })),
  {
    name: 'anneal/boundaries/domain',
    files: ['core/domain/**/*.ts'],
    rules: { 'no-restricted-imports': restrictions([], domainOnly) },
  },
];

export default defineConfig(
  {
    name: 'anneal/ignores',
    ignores: ['node_modules/', 'core/store/generated/', 'data/', 'scratch/', 'test-artifacts/', 'dist/', 'coverage/'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    name: 'anneal/javascript',
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: nodeGlobals },
  },
  {
    name: 'anneal/commonjs',
    files: ['**/*.{js,cjs}'],
    languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, ...commonjsGlobals } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    name: 'anneal/unused',
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...boundaryBlocks,
);
