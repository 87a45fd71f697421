// npm postinstall: generates the Prisma clients for both engines without any download.
// `prisma generate` only checks that a schema-engine binary exists (it generates with bundled Wasm);
// this machine cannot download one, so any executable satisfies the check (see docs/architecture.md).
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { engines, schemaPath, writeSchemas } = require('./prisma-schemas.cjs');

writeSchemas();
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
const prismaCli = path.join(path.dirname(require.resolve('prisma/package.json')), 'build/index.js');
for (const engine of engines) {
  execFileSync(process.execPath, [prismaCli, 'generate', '--schema', schemaPath(engine)], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}
