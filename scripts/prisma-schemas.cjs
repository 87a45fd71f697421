// Builds the two provider-specific Prisma schemas from prisma/models.prisma.
// Prisma cannot take the datasource provider from env(), so each engine has its own schema file,
// generated client and migration folder; everything below the header is identical (checked by a test).
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const engines = ['sqlite', 'postgresql'];

function header(engine) {
  return [
    '// GENERATED from prisma/models.prisma by scripts/prisma-schemas.cjs: edit that file, not this one.',
    'generator client {',
    '  provider     = "prisma-client"',
    `  output       = "../../core/store/generated/${engine}"`,
    '  moduleFormat = "cjs"',
    '}',
    '',
    'datasource db {',
    `  provider = "${engine}"`,
    '}',
    '',
    '',
  ].join('\n');
}

function schemaText(engine) {
  return header(engine) + fs.readFileSync(path.join(root, 'prisma/models.prisma'), 'utf8');
}

function schemaPath(engine) {
  return path.join(root, 'prisma', engine, 'schema.prisma');
}

function writeSchemas() {
  for (const engine of engines) {
    fs.mkdirSync(path.dirname(schemaPath(engine)), { recursive: true });
    fs.writeFileSync(schemaPath(engine), schemaText(engine));
  }
}

module.exports = { engines, header, schemaText, schemaPath, writeSchemas };
