/**
 * Kysely's runtime, through this one module. The build replaces this module's output with Kysely
 * bundled into one file (scripts/bundle-kysely.mjs): its 280 ESM files took 82 ms to load in every
 * `sluice` command, the bundle 12 (the benchmark's sync 65 ms shorter). Types come from 'kysely'
 * directly (`import type`); values from here (scripts/check-imports.mjs holds to it).
 */
export { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
