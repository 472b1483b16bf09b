import type { SqliteDriverName } from './sqlite-driver.js'

// How each SQL store is opened. Kept apart from the stores' SQL modules so that the public
// declarations never mention a driver's types: a project without `pg` typechecks strictly.

export interface SqliteStoreOptions {
  /**
   * `normal` (the default): a commit survives the process being killed at any instant
   * (SIGKILL, OOM, crash), because in WAL mode a commit is in the OS's file cache before it
   * returns; only an OS crash or power loss can drop the last commits, and never corrupts the
   * file. `full` also syncs the WAL to disk on every commit, which survives power loss and
   * costs an fsync per write.
   */
  synchronous?: 'normal' | 'full'
  /** How long a write waits for another connection's lock, in ms. Default 10,000. */
  busyTimeoutMs?: number
  /** Default: `node:sqlite` where Node has it (22.13+), else better-sqlite3 (Node 20). */
  driver?: SqliteDriverName
}

export interface PostgresStoreOptions {
  /**
   * A schema to keep Joon's tables in (created if missing), instead of the connection's
   * default search path: several Joon installations, or test runs, can share one database.
   */
  schema?: string
  /** Connections in the pool. Default 10. */
  maxConnections?: number
}
