import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import pg from 'pg'
import { type JoonServer, startServer } from '../async/server-process.js'

/**
 * The PostgreSQL these tests run against: the real server, never a fake, never skipped.
 * Each run creates databases of its own on it (`joon_it_<random>`), dropped afterwards, so
 * several runs side by side never see each other's rows.
 */
export const SERVER_URL =
  process.env.JOON_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

function unreachable(error: unknown): Error {
  return new Error(
    `PostgreSQL is not reachable at ${SERVER_URL} (${(error as Error).message}); start it with ` +
      '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n 1) main start` ' +
      '(as root; `.ci/run` does it), or point JOON_TEST_DATABASE_URL at a server you can use.',
  )
}

/** Runs one statement on the maintenance database `postgres` (CREATE/DROP DATABASE). */
async function maintenance(sql: string): Promise<void> {
  const client = new pg.Client({
    connectionString: withDatabase(SERVER_URL, 'postgres'),
    connectionTimeoutMillis: 5_000,
  })
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    throw unreachable(error)
  }
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

export interface TestDatabase {
  name: string
  /** What `JOON_DATABASE_URL` is set to. */
  url: string
  /** A query on this database (the test's own look at the rows). */
  query: <Row extends pg.QueryResultRow>(sql: string, values?: unknown[]) => Promise<Row[]>
  /** Closes the test's connection and drops the database, whoever is still connected. */
  drop: () => Promise<void>
}

/** Creates an empty database of its own; throws a clear error when PostgreSQL is down. */
export async function freshDatabase(): Promise<TestDatabase> {
  const name = `joon_it_${randomBytes(6).toString('hex')}`
  await maintenance(`CREATE DATABASE ${name}`)
  const url = withDatabase(SERVER_URL, name)
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5_000 })
  pool.on('error', () => {})
  let dropped = false
  return {
    name,
    url,
    query: async <Row extends pg.QueryResultRow>(sql: string, values: unknown[] = []) =>
      (await pool.query<Row>(sql, values)).rows,
    drop: async () => {
      if (dropped) return
      dropped = true
      await pool.end()
      await maintenance(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    },
  }
}

/**
 * Starts `joon serve` (the built CLI) on PostgreSQL. `args` usually come from `workspace()`:
 * its `--data` is ignored, as JOON_DATABASE_URL takes precedence.
 */
export function startOnPostgres(
  database: TestDatabase,
  args: string[],
  schedule: string,
  env: Record<string, string> = {},
): Promise<JoonServer> {
  return startServer(args, schedule, { JOON_DATABASE_URL: database.url, ...env })
}

/**
 * The local ports of the TCP connections that process `pid` holds open to 127.0.0.1:`port`
 * (Linux: its socket descriptors matched against /proc/net/tcp). A receiver that records each
 * request's remote port can then tell which instance sent it.
 */
export function connectionsTo(pid: number, port: number): Set<number> {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (match?.[1]) inodes.add(match[1])
    } catch {
      // Closed in the meantime.
    }
  }
  const ports = new Set<number>()
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/)
    const [local, rem, inode] = [fields[1], fields[2], fields[9]]
    if (!local || rem !== remote || !inode || !inodes.has(inode)) continue
    ports.add(Number.parseInt(local.split(':')[1] ?? '', 16))
  }
  return ports
}
