import { readFile } from 'node:fs/promises';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type * as KyselyModule from '../../src/store/kysely.js';

/** The built module src/store/kysely.ts becomes (`npm test` builds first). */
const BUNDLE = new URL('../../dist/store/kysely.js', import.meta.url);

describe('the built Kysely bundle (scripts/bundle-kysely.mjs)', () => {
  it('imports nothing: Kysely is inside it, not loaded file by file at run time', async () => {
    const text = await readFile(BUNDLE, 'utf8');
    expect(text.match(/^\s*(import|export)\s[^;]*?from\s*['"][^'"]+['"]/gm) ?? []).toEqual([]);
    expect(text.match(/\bimport\s*\(/g) ?? []).toEqual([]);
  });

  it('exports what src/store/kysely.ts does, and they work on SQLite', async () => {
    const bundled = (await import(BUNDLE.href)) as typeof KyselyModule;
    const source = await readFile(new URL('../../src/store/kysely.ts', import.meta.url), 'utf8');
    const names = /export \{([^}]*)\} from 'kysely'/.exec(source)?.[1]?.split(',') ?? [];
    expect(Object.keys(bundled).sort()).toEqual(names.map((n) => n.trim()).sort());
    const db = new bundled.Kysely<{ t: { n: number } }>({
      dialect: new bundled.SqliteDialect({ database: new BetterSqlite3(':memory:') }),
    });
    try {
      await bundled.sql`CREATE TABLE t (n integer)`.execute(db);
      await db
        .insertInto('t')
        .values([{ n: 1 }, { n: 41 }])
        .execute();
      const row = await db
        .selectFrom('t')
        .select((eb) => eb.fn.sum<number>('n').as('s'))
        .executeTakeFirst();
      expect(row).toEqual({ s: 42 });
      const migrator = new bundled.Migrator({ db, provider: { getMigrations: async () => ({}) } });
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
    } finally {
      await db.destroy();
    }
  });
});
