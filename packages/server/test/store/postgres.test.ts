import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PostgresStore } from '../../src/store/postgres.js'
import { MIGRATIONS } from '../../src/store/postgres-sql.js'
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
    expect(rows).toEqual([{ version: MIGRATIONS.length }])
    await stores[0]!.putBot(bot('shared'))
    for (const store of stores) expect(await store.getBot('shared')).toEqual(bot('shared'))
    await Promise.all(stores.map((store) => store.close()))
    // Opening again is a no-op.
    const again = await PostgresStore.open(URL, { schema })
    expect(await again.listBots()).toEqual([bot('shared')])
    await again.close()
  })

  it('migrates bots to version 1 and pins existing conversations to it', async () => {
    const schema = freshSchema()
    // A database as the first schema left it, with data in it.
    const client = await admin!.connect()
    try {
      await client.query(`CREATE SCHEMA ${schema}; SET search_path = ${schema}`)
      await client.query(MIGRATIONS[0]!)
      await client.query('CREATE TABLE joon_schema (version integer NOT NULL)')
      await client.query('INSERT INTO joon_schema VALUES (1)')
      await client.query('INSERT INTO bots (id, data) VALUES ($1, $2), ($3, $4)', [
        'lead-gen',
        JSON.stringify(bot('lead-gen')),
        'other',
        JSON.stringify(bot('other', 'Other')),
      ])
      const ended = { ...state('lead-gen'), at: null, waiting: null, ended: true }
      for (const [id, s] of [
        ['c-live', { ...state('lead-gen'), at: 'ask' }],
        ['c-hook', { ...state('lead-gen'), at: 'hook' }],
        ['c-ended', ended],
      ] as const) {
        await client.query(
          `INSERT INTO conversations (id, bot_id, state, version, created_at, updated_at)
           VALUES ($1, 'lead-gen', $2, 3, $3, $3)`,
          [id, JSON.stringify(s), T],
        )
      }
    } finally {
      await client.query('RESET search_path')
      client.release()
    }

    const before = Date.now()
    const store = await PostgresStore.open(URL, { schema })
    expect(await store.getBot('lead-gen')).toEqual(bot('lead-gen'))
    expect(await store.listBots()).toEqual([bot('lead-gen'), bot('other', 'Other')])
    const [v1] = await store.listBotVersions('lead-gen')
    expect(v1).toMatchObject({ version: 1, source: 'api', file: null, blocks: 2 })
    expect(v1!.savedAt).toBeGreaterThanOrEqual(before - 1000)
    expect(await store.getConversation('c-live')).toMatchObject({ botVersion: 1, version: 3 })
    expect(await store.countLiveConversations('lead-gen')).toEqual({
      live: 2,
      byBlock: { ask: 1, hook: 1 },
      byVersion: { '1': 2 },
    })
    // Results on migrated data: listed, searchable, counted (a conversation from before
    // reached the block it waits on, as far as Joon can tell), deletable.
    const listed = await store.listConversations({ botId: 'lead-gen', limit: 2 })
    expect(listed.conversations.map((c) => c.id)).toEqual(['c-live', 'c-hook'])
    expect(listed.next).toEqual({ createdAt: T, id: 'c-hook' })
    expect((await store.getConversation('c-live'))?.reached).toEqual(['ask'])
    expect((await store.getConversation('c-ended'))?.reached).toEqual([])
    expect(
      (await store.listConversations({ q: 'YOUR EMAIL', ended: true, limit: 5 })).conversations,
    ).toHaveLength(1)
    const funnel = await store.funnel('lead-gen')
    expect(funnel.conversations).toBe(3)
    expect({ ...funnel.reached }).toEqual({ ask: 1, hook: 1 })
    expect(await store.deleteConversation('c-hook')).toBe(true)
    expect(await store.putBot(bot('lead-gen', 'Edited'), { source: 'console' })).toEqual({
      created: false,
      version: 2,
    })
    expect(await store.getBotVersion('lead-gen', 1)).toEqual(bot('lead-gen'))
    await store.close()
    const { rows } = await admin!.query(`SELECT version FROM ${schema}.joon_schema`)
    expect(rows).toEqual([{ version: MIGRATIONS.length }])
  })

  it('moves delivery attempts into their row and lists by seq, upgrading a filled database', async () => {
    const schema = freshSchema()
    // A database as the second schema left it (attempts in their own table), with deliveries.
    const client = await admin!.connect()
    try {
      await client.query(`CREATE SCHEMA ${schema}; SET search_path = ${schema}`)
      await client.query(MIGRATIONS[0]!)
      await client.query(MIGRATIONS[1]!)
      await client.query('CREATE TABLE joon_schema (version integer NOT NULL)')
      await client.query('INSERT INTO joon_schema VALUES (2)')
      await client.query(
        `INSERT INTO deliveries (id, webhook, conversation_id, async, status, body, attempts,
           last_status, last_error, created_at, next_attempt_at, due_at) VALUES
         ('msg_old', 'crm', 'c1', true, 'failed', '{}', 2, NULL, 'timed out', ${T + 5}, NULL, NULL),
         ('msg_new', 'crm', 'c1', true, 'pending', '{}', 1, 503, NULL, ${T + 1}, ${T + 50}, ${T + 50}),
         ('msg_none', 'other', 'c2', true, 'pending', '{"a":1}', 0, NULL, NULL, ${T + 2}, ${T + 60}, ${T + 60})`,
      )
      await client.query(`INSERT INTO delivery_attempts VALUES
        (1, 2, ${T + 20}, NULL, 10000, 'timed out'),
        (1, 1, ${T + 10}, 500, 3.5, 'HTTP 500'),
        (2, 1, ${T + 11}, 503, 4, NULL)`)
    } finally {
      await client.query('RESET search_path')
      client.release()
    }

    const store = await PostgresStore.open(URL, { schema })
    expect(await store.getDelivery('msg_old')).toMatchObject({
      status: 'failed',
      attempts: 2,
      history: [
        { at: T + 10, status: 500, durationMs: 3.5, error: 'HTTP 500' },
        { at: T + 20, status: null, durationMs: 10000, error: 'timed out' },
      ],
    })
    expect((await store.getDelivery('msg_none'))?.history).toEqual([])
    // Newest first by insertion, as on SQLite (msg_old was created last but inserted first).
    expect((await store.listDeliveries({ limit: 5 })).map((d) => d.id)).toEqual([
      'msg_none',
      'msg_new',
      'msg_old',
    ])
    expect((await store.listDeliveries({ status: 'failed', limit: 5 })).map((d) => d.id)).toEqual([
      'msg_old',
    ])
    expect(await store.nextDueAt()).toBe(T + 50)
    const [leased] = await store.leaseDueDeliveries({
      now: T + 50,
      limit: 5,
      leaseMs: 10,
      owner: 'w',
    })
    expect(leased?.id).toBe('msg_new')
    await store.completeAttempt({
      id: 'msg_new',
      owner: 'w',
      attempt: { at: T + 70, status: 204, durationMs: 2, error: null },
      outcome: { status: 'delivered' },
    })
    expect((await store.getDelivery('msg_new'))?.history).toEqual([
      { at: T + 11, status: 503, durationMs: 4, error: null },
      { at: T + 70, status: 204, durationMs: 2, error: null },
    ])
    await store.close()
    const { rows } = await admin!.query(
      `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'deliveries'
       ORDER BY indexname`,
      [schema],
    )
    expect(rows.map((row) => row.indexname)).toEqual([
      'deliveries_conversation',
      'deliveries_failed',
      'deliveries_id_key',
      'deliveries_pkey',
      'deliveries_webhook_due',
      'deliveries_webhook_seq',
    ])
    const tables = await admin!.query(
      "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename = 'delivery_attempts'",
      [schema],
    )
    expect(tables.rows).toEqual([])
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
