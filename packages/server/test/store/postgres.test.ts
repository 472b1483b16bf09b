import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PostgresStore } from '../../src/store/postgres.js'
import { asyncDelivery, bot, describeStoreConformance, state, uid } from './conformance.js'

/**
 * These tests run against a real PostgreSQL, never a fake, and are never skipped: `.ci/run`
 * starts the server; locally, start it yourself (see below).
 */
const URL = process.env.JOON_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

let admin: pg.Pool | undefined
let unreachable: string | undefined
const schemas: string[] = []

beforeAll(async () => {
  const pool = new pg.Pool({ connectionString: URL, max: 2, connectionTimeoutMillis: 5000 })
  pool.on('error', () => {})
  try {
    await pool.query('SELECT 1')
    admin = pool
  } catch (error) {
    await pool.end()
    unreachable =
      `PostgreSQL is not reachable at ${URL} (${(error as Error).message}); start it with ` +
      '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n 1) main start` ' +
      '(as root; `.ci/run` does it), or point JOON_TEST_DATABASE_URL at a server you can use.'
  }
})

afterAll(async () => {
  if (!admin) return
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await admin.end()
})

/** A schema of its own for each store, dropped after the run. */
function freshSchema(): string {
  if (unreachable) throw new Error(unreachable)
  const schema = `joon_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
  schemas.push(schema)
  return schema
}

describe('PostgreSQL', () => {
  it('is reachable', () => {
    if (unreachable) throw new Error(unreachable)
    expect(admin).toBeDefined()
  })
})

describeStoreConformance('PostgresStore', async () => {
  const schema = freshSchema()
  const store = await PostgresStore.open(URL, { schema })
  return {
    store,
    cleanup: async () => {
      await store.close()
      await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    },
  }
})

const T = 1_700_000_000_000

describe('PostgresStore with several instances', () => {
  it('migrates once when instances start at the same moment', async () => {
    const schema = freshSchema()
    const stores = await Promise.all(
      Array.from({ length: 4 }, () => PostgresStore.open(URL, { schema, maxConnections: 2 })),
    )
    const { rows } = await admin!.query(`SELECT version FROM ${schema}.joon_schema`)
    expect(rows).toEqual([{ version: 1 }])
    await stores[0]!.putBot(bot('shared'))
    for (const store of stores) expect(await store.getBot('shared')).toEqual(bot('shared'))
    await Promise.all(stores.map((store) => store.close()))
    // Opening again is a no-op.
    const again = await PostgresStore.open(URL, { schema })
    expect(await again.listBots()).toEqual([bot('shared')])
    await again.close()
  })

  it('refuses a schema from a newer Joon', async () => {
    const schema = freshSchema()
    await admin!.query(`CREATE SCHEMA ${schema}`)
    await admin!.query(`CREATE TABLE ${schema}.joon_schema (version integer NOT NULL)`)
    await admin!.query(`INSERT INTO ${schema}.joon_schema VALUES (99)`)
    await expect(PostgresStore.open(URL, { schema })).rejects.toThrow(/version 99, newer/)
  })

  it('never hands a delivery to two instances leasing side by side', async () => {
    const schema = freshSchema()
    const [a, b, c] = await Promise.all(
      Array.from({ length: 3 }, () => PostgresStore.open(URL, { schema, maxConnections: 4 })),
    )
    const deliveries = Array.from({ length: 1200 }, (_, i) =>
      asyncDelivery(`hook-${i % 4}`, 'c', T + i),
    )
    await a!.createConversation({ id: 'seed', botId: 'b', state: state('b'), now: T }, deliveries)

    const worker = async (store: PostgresStore, owner: string) => {
      const leased: string[] = []
      for (;;) {
        const batches = await Promise.all(
          [0, 1].map(() =>
            store.leaseDueDeliveries({ now: T + 10_000, limit: 9, leaseMs: 600_000, owner }),
          ),
        )
        const batch = batches.flat()
        // An empty lease only means "nothing free right now": others may hold the rest.
        if (batch.length === 0) {
          const next = await store.nextDueAt()
          if (next === null || next > T + 10_000) return leased
          continue
        }
        await Promise.all(
          batch.map(async (d) => {
            leased.push(d.id)
            const ok = await store.completeAttempt({
              id: d.id,
              owner,
              attempt: { at: T + 10_000, status: 200, durationMs: 1, error: null },
              outcome: { status: 'delivered' },
            })
            if (!ok) throw new Error(`lost the lease of ${d.id}`)
          }),
        )
      }
    }
    const results = await Promise.all([worker(a!, 'a'), worker(b!, 'b'), worker(c!, 'c')])
    const all = results.flat()
    expect(new Set(all).size).toBe(all.length)
    expect(all).toHaveLength(deliveries.length)
    for (const leased of results) expect(leased.length).toBeGreaterThan(0)
    expect(await a!.countDeliveries({ status: 'delivered' })).toBe(deliveries.length)

    // Racing versioned updates from different instances: exactly one wins each time.
    for (let i = 0; i < 20; i++) {
      const id = uid('race')
      await a!.createConversation({ id, botId: 'b', state: state('b'), now: T })
      const wins = await Promise.all(
        [a!, b!, c!].map((store, n) =>
          store.updateConversation(
            { id, expectedVersion: 1, state: state('b', [['n', n]]), now: T + 1 },
            [asyncDelivery('race', id)],
          ),
        ),
      )
      expect(wins.filter(Boolean)).toHaveLength(1)
      expect(await a!.countDeliveries({ webhook: 'race' })).toBe(i + 1)
    }
    await Promise.all([a!.close(), b!.close(), c!.close()])
  }, 60_000)
})
