'use strict';
// Mocha configuration. TypeScript runs through tsx (`require: ['tsx']` registers both its CommonJS and ESM
// hooks in-process, so dynamic `import()` of .ts files works too; no type checking — `npm run typecheck`).
//
// `npm test` runs every suite: test/unit, test/integration and test/e2e.
//
// NOTE: mocha appends command-line spec arguments to the `spec` configured here instead of replacing it,
// so `mocha 'test/unit/**/*.test.ts'` (npm run test:unit) would still run every suite. The default spec
// below is therefore applied only when no spec was given on the command line.

/** Mocha options that take a value, with aliases: the argument after them is not a spec. */
const optionsWithValue = new Set([
  'config', 'extension', 'fgrep', 'f', 'file', 'global', 'globals', 'grep', 'g', 'ignore', 'exclude', 'jobs', 'j',
  'node-option', 'n', 'package', 'reporter', 'R', 'reporter-option', 'reporter-options', 'O', 'require', 'r',
  'retries', 'slow', 's', 'spec', 'timeout', 't', 'timeouts', 'ui', 'u', 'watch-files', 'watch-ignore',
]); // prettier-ignore

/** True when the command line names its own spec files (positional arguments or --spec). */
function specOnCommandLine(argv) {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return i + 1 < argv.length;
    if (arg === '--spec' || arg.startsWith('--spec=')) return true;
    if (arg.startsWith('-')) {
      const name = arg.replace(/^--?/, '');
      if (!name.includes('=') && optionsWithValue.has(name)) i++;
      continue;
    }
    return true;
  }
  return false;
}

module.exports = {
  require: ['tsx'],
  ...(specOnCommandLine(process.argv.slice(2)) ? {} : { spec: ['test/**/*.test.ts'] }),
  extension: ['ts'],
  recursive: true,
  timeout: 20000,
  reporter: 'spec',
  exit: true,
};
