import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiPath } from '../../src/core/api.js';
import { parseConfig } from '../../src/core/config.js';
import { openOutboxStore } from '../../src/store/open-store.js';
import { TEST_MYSQL, createTestDatabase, type TestDatabase } from '../helpers/mariadb.js';
import { createServerHarness } from '../helpers/server.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('sluice_sinkedit');
  await db.exec(`CREATE TABLE events (id BIGINT PRIMARY KEY AUTO_INCREMENT, email VARCHAR(100))`);
});
afterAll(async () => {
  await db.drop();
});

describe('editing a section that has a Planhat sink', () => {
  it('keeps the sink and its stored token when the section is saved from the API', async () => {
    const h = await createServerHarness(db);
    try {
      await h.addUser('admin@x.io', 'admin');
      const admin = await h.login('admin@x.io');
      await h.createIntegration(admin);
      const section = {
        name: 'clicks',
        dataType: 'activities',
        table: 'events',
        key: 'id',
        mapping: { email: 'email' },
      };
      const parsed = parseConfig({
        integration: {
          name: 'test-db',
          mysql: {
            host: TEST_MYSQL.host,
            port: TEST_MYSQL.port,
            user: TEST_MYSQL.user,
            database: db.name,
          },
          sink: { type: 'both', planhat: { baseUrl: 'http://127.0.0.1:9', token: 'secret-1' } },
        },
        sections: [section],
      });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
      await h.store.applyConfig(parsed.config.integration, parsed.config.sections);
      const [stored] = await h.store.listSections('test-db');
      const id = stored?.id ?? -1;

      const res = await h.call('PUT', apiPath('getSection', { id }), {
        as: admin,
        body: { ...section, batchSize: 50 },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.body).not.toContain('secret-1');
      const after = await h.store.getSection(id);
      expect(after?.batchSize).toBe(50);
      expect(after?.sink).toEqual({ type: 'both', planhat: { baseUrl: 'http://127.0.0.1:9' } });
      expect(await openOutboxStore(h.store).sinkToken(id)).toBe('secret-1');
    } finally {
      await h.close();
    }
  });
});
