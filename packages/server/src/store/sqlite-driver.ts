import type BetterSqlite3 from 'better-sqlite3'
import { requireOptional } from './optional-dependency.js'

/**
 * The few SQLite calls SqliteStore makes, over two drivers:
 * - `node:sqlite`, built into Node (no flag since 22.13), used wherever it exists;
 * - better-sqlite3, on Node 20. On Node 24, better-sqlite3 12 aborts the process when the
 *   garbage collector finalizes a statement after the environment is torn down
 *   ("Assertion failed: (env) != nullptr", WiseLibs/better-sqlite3#1515, closed without a
 *   fix; 13.x needs Node 22), which is why it is not used where `node:sqlite` is available.
 */
export interface SqliteStatement<P extends unknown[], R> {
  run(...params: P): { changes: number | bigint; lastInsertRowid: number | bigint }
  get(...params: P): R | undefined
  all(...params: P): R[]
}

export interface SqliteDatabase {
  readonly driver: SqliteDriverName
  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): SqliteStatement<P, R>
  exec(sql: string): void
  /** Runs `fn` in one transaction; `immediate` takes the write lock up front. */
  transaction<T>(mode: 'immediate' | 'deferred', fn: () => T): T
  readonly isOpen: boolean
  close(): void
}

export type SqliteDriverName = 'node:sqlite' | 'better-sqlite3'

interface NodeSqliteModule {
  DatabaseSync: new (
    path: string,
  ) => {
    prepare(sql: string): SqliteStatement<unknown[], unknown>
    exec(sql: string): void
    close(): void
    readonly isOpen: boolean
  }
}

/** `node:sqlite` when this Node has it without a flag, else undefined. */
function nodeSqlite(): NodeSqliteModule | undefined {
  try {
    return process.getBuiltinModule?.('node:sqlite') as NodeSqliteModule | undefined
  } catch {
    return undefined
  }
}

export function availableSqliteDrivers(): SqliteDriverName[] {
  return nodeSqlite() ? ['node:sqlite', 'better-sqlite3'] : ['better-sqlite3']
}

/** Opens a database with the given driver, or the preferred one available. */
export function openSqliteDatabase(
  path: string,
  driver: SqliteDriverName = availableSqliteDrivers()[0] ?? 'better-sqlite3',
): SqliteDatabase {
  if (driver === 'node:sqlite') {
    const sqlite = nodeSqlite()
    if (!sqlite) throw new Error('node:sqlite is not available on this Node.js')
    return wrapNodeSqlite(new sqlite.DatabaseSync(path))
  }
  const Database = requireOptional<typeof BetterSqlite3>(
    'better-sqlite3',
    `SQLite on Node ${process.versions.node}`,
    ', or use Node 22.13 or later (its built-in node:sqlite needs nothing)',
  )
  return wrapBetterSqlite(new Database(path))
}

function wrapNodeSqlite(db: InstanceType<NodeSqliteModule['DatabaseSync']>): SqliteDatabase {
  const prepare = <P extends unknown[], R>(sql: string) =>
    db.prepare(sql) as unknown as SqliteStatement<P, R>
  return {
    driver: 'node:sqlite',
    prepare,
    exec: (sql) => db.exec(sql),
    transaction: transactions(prepare),
    get isOpen() {
      return db.isOpen
    },
    close: () => db.close(),
  }
}

function wrapBetterSqlite(db: BetterSqlite3.Database): SqliteDatabase {
  const prepare = <P extends unknown[], R>(sql: string) =>
    db.prepare(sql) as unknown as SqliteStatement<P, R>
  return {
    driver: 'better-sqlite3',
    prepare,
    exec: (sql) => void db.exec(sql),
    // Not better-sqlite3's own `db.transaction(fn)`: it builds a wrapper per call, which cost
    // more than the statements of a small write.
    transaction: transactions(prepare),
    get isOpen() {
      return db.open
    },
    close: () => void db.close(),
  }
}

/**
 * `transaction(mode, fn)` on prepared BEGIN/COMMIT statements (compiled once, not per call).
 * A nested call becomes a savepoint, so an inner failure undoes only the inner writes.
 */
function transactions(prepare: (sql: string) => SqliteStatement<[], unknown>) {
  const statements = new Map<string, SqliteStatement<[], unknown>>()
  const run = (sql: string) => {
    let statement = statements.get(sql)
    if (!statement) {
      statement = prepare(sql)
      statements.set(sql, statement)
    }
    statement.run()
  }
  let depth = 0
  return <T>(mode: 'immediate' | 'deferred', fn: () => T): T => {
    const savepoint = `joon_${depth}`
    run(depth === 0 ? `BEGIN ${mode.toUpperCase()}` : `SAVEPOINT ${savepoint}`)
    depth++
    let result: T
    try {
      result = fn()
    } catch (error) {
      depth--
      undo(depth, savepoint)
      throw error
    }
    depth--
    try {
      run(depth === 0 ? 'COMMIT' : `RELEASE ${savepoint}`)
    } catch (error) {
      // A COMMIT that failed (busy, I/O) leaves the transaction open: end it, keep nothing.
      undo(depth, savepoint)
      throw error
    }
    return result
  }

  function undo(depth: number, savepoint: string) {
    try {
      if (depth === 0) {
        run('ROLLBACK')
      } else {
        run(`ROLLBACK TO ${savepoint}`)
        run(`RELEASE ${savepoint}`)
      }
    } catch {
      // SQLite already rolled the transaction back itself (it does on some I/O errors).
    }
  }
}

/** SQLite's primary result code of an error from either driver (5 is SQLITE_BUSY). */
function resultCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { errcode, code } = error as { errcode?: unknown; code?: unknown }
  if (typeof errcode === 'number') return errcode
  const names: Record<string, number> = {
    SQLITE_BUSY: 5,
    SQLITE_CONSTRAINT_PRIMARYKEY: 1555,
    SQLITE_CONSTRAINT_UNIQUE: 2067,
  }
  if (typeof code !== 'string') return undefined
  return names[code] ?? (code.startsWith('SQLITE_BUSY') ? 5 : undefined)
}

export const isBusy = (error: unknown) => ((resultCode(error) ?? 0) & 0xff) === 5

export const isUniqueViolation = (error: unknown): error is Error => {
  const code = resultCode(error)
  return code === 1555 || code === 2067
}
