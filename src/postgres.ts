/**
 * The `prescient/postgres` entry point: origins over PostgreSQL (postgres.js) and PGlite, and the origins that
 * compose or front other stores. Kept apart from the main entry so `prescient` alone pulls in no database driver.
 */
export { PostgresOrigin } from './origin/postgres-origin.ts';
export type { PostgresConnectOptions, PostgresOriginOptions, PostgresSql } from './origin/postgres-origin.ts';
export { checkJsonbValue, SqlTable, DEFAULT_TABLE, DEFAULT_CHANGES_LIMIT, quoteIdentifier } from './origin/sql-table.ts';
export type { SqlRunner, SqlTableOptions } from './origin/sql-table.ts';
export { PgliteOrigin } from './origin/pglite-origin.ts';
export type { PgliteOpenOptions, PgliteOriginOptions } from './origin/pglite-origin.ts';
export { TieredOrigin } from './origin/tiered-origin.ts';
export type { StoreStats, TieredOriginOptions, TieredOriginStats } from './origin/tiered-origin.ts';
export { HttpOrigin } from './origin/http-origin.ts';
export type { HttpOriginOptions } from './origin/http-origin.ts';
export { openSampleOrigin, readSampleKeys, sampleValue, sampleTracePath, SAMPLE_STORE_VERSION, SAMPLE_TABLE } from './origin/sample-store.ts';
export type { SampleItem, SampleOriginOptions } from './origin/sample-store.ts';
export { ChangeFeed } from './sync/change-feed.ts';
export type { ChangeFeedEvents, ChangeFeedLogger, ChangeFeedOptions, ChangeFeedStats } from './sync/change-feed.ts';
export { changeTriggerName, deletesTriggerName, truncateTriggerName, defaultChannel, installChangeTrigger, removeChangeTrigger } from './sync/change-trigger.ts';
export type { ChangeTriggerOptions } from './sync/change-trigger.ts';
export { DEFAULT_CATCH_UP_LOOKBACK } from './sync/change-feed-options.ts';
