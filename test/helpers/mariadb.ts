import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

/** Where the integration tests find MariaDB; override with SLUICE_TEST_MYSQL_HOST/PORT/USER/PASSWORD. */
export const TEST_MYSQL = {
  host: process.env.SLUICE_TEST_MYSQL_HOST ?? '127.0.0.1',
  port: Number(process.env.SLUICE_TEST_MYSQL_PORT ?? 3306),
  user: process.env.SLUICE_TEST_MYSQL_USER ?? 'root',
  password: process.env.SLUICE_TEST_MYSQL_PASSWORD ?? '',
};

export interface TestDatabase {
  name: string;
  /** A connection to the test database, for setting up tables and rows. */
  conn: mysql.Connection;
  exec(sql: string, params?: unknown[]): Promise<void>;
  drop(): Promise<void>;
}

/** Creates a database with a random suffix; each suite owns its own and drops it afterwards. */
export async function createTestDatabase(prefix = 'sluice_t'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  let admin: mysql.Connection;
  try {
    admin = await mysql.createConnection({ ...TEST_MYSQL, multipleStatements: true });
  } catch (err) {
    throw new Error(
      `MariaDB is not reachable at ${TEST_MYSQL.host}:${TEST_MYSQL.port} as ${TEST_MYSQL.user} ` +
        `(${(err as Error).message}). Start it with: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`,
      { cause: err },
    );
  }
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const conn = await mysql.createConnection({
    ...TEST_MYSQL,
    database: name,
    multipleStatements: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
  });
  await conn.query("SET time_zone = '+00:00'");
  return {
    name,
    conn,
    async exec(sql, params) {
      await conn.query(sql, params);
    },
    async drop() {
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}
