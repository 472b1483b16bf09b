import type pg from 'pg'
import { conflictError } from './deliveries.js'
import { inTransaction } from './postgres-sql.js'

/**
 * The PostgreSQL store's statements: named (prepared once per connection, then reused), with
 * unique violations on writes turned into the store's conflict error.
 */
export class Statements {
  readonly #pool: pg.Pool

  constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.#pool, fn)
  }

  async ping(): Promise<void> {
    await this.#pool.query('SELECT 1')
  }

  async end(): Promise<void> {
    if (!this.#pool.ended) await this.#pool.end()
  }

  /** A named (prepared once per connection, then reused) statement. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.#pool.query<R>({ name, text, values })
  }

  /** A write whose unique violations mean "this id already exists". */
  async write<R extends pg.QueryResultRow = pg.QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.query<R>(name, text, values)
    } catch (error) {
      // pg's DatabaseError, told by its SQLSTATE: pg itself is loaded only when connecting.
      if (isUniqueViolation(error)) {
        throw conflictError(
          error.constraint?.startsWith('deliveries') ? 'delivery' : 'conversation',
        )
      }
      throw error
    }
  }

  async put(table: 'bots' | 'webhooks' | 'models', key: 'id' | 'name', id: string, data: string) {
    // xmax is 0 on a row version this statement inserted, and set when it updated one.
    const { rows } = await this.query<{ created: boolean }>(
      `put-${table}`,
      `INSERT INTO ${table} (${key}, data) VALUES ($1, $2)
       ON CONFLICT (${key}) DO UPDATE SET data = excluded.data
       RETURNING (xmax = 0) AS created`,
      [id, data],
    )
    return { created: rows[0]?.created === true }
  }
}

/** PostgreSQL text cannot hold NUL, so no stored id contains one: such lookups find nothing. */
export function storable(id: string): boolean {
  return !id.includes('\0')
}

export function filtersStorable(query: { webhook?: string; conversationId?: string }): boolean {
  return (
    (query.webhook === undefined || storable(query.webhook)) &&
    (query.conversationId === undefined || storable(query.conversationId))
  )
}

export function isUniqueViolation(error: unknown): error is pg.DatabaseError {
  return (error as { code?: unknown } | null)?.code === '23505'
}
