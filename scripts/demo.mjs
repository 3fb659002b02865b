#!/usr/bin/env node
// `npm run demo`: creates a demo database in the local MySQL/MariaDB (127.0.0.1:3306, root, password
// from MYSQL_PASSWORD, empty by default), applies examples/sluice.demo.yaml and syncs it, twice, to
// show that a second sync lands nothing new. Override the server with MYSQL_HOST / MYSQL_PORT / MYSQL_USER.
import { execFileSync } from 'node:child_process';
import mysql from 'mysql2/promise';

const host = process.env.MYSQL_HOST ?? '127.0.0.1';
const port = Number(process.env.MYSQL_PORT ?? 3306);
const user = process.env.MYSQL_USER ?? 'root';
const password = process.env.MYSQL_PASSWORD ?? '';
const rows = Number(process.env.DEMO_ROWS ?? 50_000);

const conn = await mysql.createConnection({ host, port, user, password, multipleStatements: true });
await conn.query(`CREATE DATABASE IF NOT EXISTS sluice_demo CHARACTER SET utf8mb4;
  USE sluice_demo;
  DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS daily_usage;
  CREATE TABLE events (id BIGINT UNSIGNED PRIMARY KEY AUTO_INCREMENT, user_email VARCHAR(120), user_id VARCHAR(40),
    account_id VARCHAR(40), event_name VARCHAR(60), qty INT NULL, created_at DATETIME(3), full_name VARCHAR(80),
    plan VARCHAR(20), browser VARCHAR(20));
  CREATE TABLE daily_usage (seq INT PRIMARY KEY AUTO_INCREMENT, metric VARCHAR(40), amount DECIMAL(12,2),
    company_id VARCHAR(40), day DATE);`);
const actions = ['login', 'export', 'search', 'share', 'invite'];
const browsers = ['firefox', 'chrome', 'safari'];
for (let start = 0; start < rows; start += 5000) {
  const batch = [];
  for (let i = start; i < Math.min(rows, start + 5000); i++) {
    const u = i % 997;
    const email = i % 1000 === 999 ? null : `user${u}@example.com`; // a few rows without email keep their externalId
    batch.push([
      email,
      `u-${u}`,
      `acme-${u % 37}`,
      actions[i % actions.length],
      i % 10 === 0 ? null : 1 + (i % 3),
      new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString().slice(0, 23).replace('T', ' '),
      `User ${u}`,
      u % 2 ? 'pro' : 'free',
      browsers[i % 3],
    ]);
  }
  await conn.query(
    'INSERT INTO sluice_demo.events (user_email, user_id, account_id, event_name, qty, created_at, full_name, plan, browser) VALUES ?',
    [batch],
  );
}
const points = [];
for (let d = 0; d < 60; d++) {
  for (let c = 0; c < 37; c++) {
    points.push([
      'seats',
      5 + ((c * 7 + d) % 40),
      `acme-${c}`,
      new Date(Date.UTC(2026, 0, 1 + d)).toISOString().slice(0, 10),
    ]);
  }
}
await conn.query('INSERT INTO sluice_demo.daily_usage (metric, amount, company_id, day) VALUES ?', [
  points,
]);
await conn.end();
console.log(
  `demo: created sluice_demo.events (${rows} rows) and sluice_demo.daily_usage (${points.length} rows)\n`,
);

const sluice = (...args) => {
  console.log(`$ sluice ${args.join(' ')}`);
  execFileSync(process.execPath, ['bin/sluice.js', ...args], {
    stdio: 'inherit',
    env: { ...process.env, MYSQL_PASSWORD: password },
  });
  console.log();
};
sluice('apply', '-f', 'examples/sluice.demo.yaml');
sluice('sync', '--once');
sluice('sync', '--once');
sluice('stats');
sluice('logs', '--limit', '4');
