import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { noFilters, withSchemaEngine } from '../../../core/store/schema-engine';
import { openDatabase } from '../../../core/store/db';
import { engines, freshDatabase, requireEngine } from '../../helpers/engines';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const schemas = require('../../../scripts/prisma-schemas.cjs') as {
  engines: string[];
  header(engine: string): string;
  schemaText(engine: string): string;
  schemaPath(engine: string): string;
};
const prismaDir = path.resolve(__dirname, '../../../prisma');

describe('store/schema: models, per-engine schemas and migrations agree', () => {
  it('each committed engine schema is the models file under its own header', () => {
    for (const engine of schemas.engines) {
      expect(readFileSync(schemas.schemaPath(engine), 'utf8'), engine).to.equal(schemas.schemaText(engine));
    }
    const bodies = schemas.engines.map((e) =>
      readFileSync(schemas.schemaPath(e), 'utf8').slice(schemas.header(e).length),
    );
    expect(bodies[0]).to.equal(bodies[1]);
  });

  it('the models have no change that a migration does not cover', async function () {
    this.timeout(60_000);
    const models = readFileSync(path.join(prismaDir, 'models.prisma'), 'utf8');
    const migrated = readFileSync(path.join(prismaDir, 'migrated-models.prisma'), 'utf8');
    const files = (text: string) => ({ files: [{ path: 'schema.prisma', content: schemas.header('sqlite') + text }] });
    const diff = await withSchemaEngine(
      new PrismaBetterSqlite3({ url: ':memory:' }),
      schemas.header('sqlite') + models,
      (se) =>
        se.diff({
          from: { tag: 'schemaDatamodel', ...files(migrated) },
          to: { tag: 'schemaDatamodel', ...files(models) },
          script: true,
          exitCode: null,
          filters: noFilters,
        }),
    );
    expect((diff.stdout ?? '').trim(), 'run `npm run db:migration -- <name>`').to.match(
      /^(-- This is an empty migration\.)?$/,
    );
  });

  for (const engine of engines) {
    it(`[${engine}] migrates a new database on open, and a second open applies nothing`, async function () {
      this.timeout(60_000);
      await requireEngine(this, engine);
      const db = await freshDatabase(engine);
      try {
        const first = await openDatabase(db.target);
        await first.close();
        const second = await openDatabase(db.target);
        await second.close();
        expect(first.appliedMigrations).to.have.length.greaterThan(0);
        expect(second.appliedMigrations).to.deep.equal([]);
      } finally {
        await db.drop();
      }
    });
  }
});
