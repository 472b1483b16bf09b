import { statSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SqliteStore } from '../../src/store/sqlite.js'
import { openSqliteDatabase } from '../../src/store/sqlite-driver.js'
import { compileStore, runNode, runTogether, WAIT_FOR_GO } from './child-process.js'
import { asyncDelivery, bot, describeStoreConformance, state, uid, webhook } from './conformance.js'

let root: string
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'joon-sqlite-'))
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

describeStoreConformance('SqliteStore', async () => {
  // A directory that does not exist yet: open() creates it.
  const dir = join(root, uid('conformance'), 'nested')
  const store = SqliteStore.open(join(dir, 'joon.db'))
  return {
    store,
    cleanup: async () => {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
})

const T = 1_700_000_000_000
/** How many migrations the store has (`PRAGMA user_version` once it opened a file). */
const SCHEMA_VERSION = 8

/** The schema version 1 shipped with, as a file made by that version holds it. */
const VERSION_1_SCHEMA = `
  CREATE TABLE bots (id TEXT PRIMARY KEY, data TEXT NOT NULL);
  CREATE TABLE webhooks (name TEXT PRIMARY KEY, data TEXT NOT NULL);
  CREATE TABLE conversations (
    id TEXT PRIMARY KEY, bot_id TEXT NOT NULL, state TEXT NOT NULL, version INTEGER NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
  CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, webhook TEXT NOT NULL,
    conversation_id TEXT NOT NULL, async INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    body TEXT NOT NULL, attempts INTEGER NOT NULL, last_status INTEGER, last_error TEXT,
    created_at INTEGER NOT NULL, next_attempt_at INTEGER, lease_owner TEXT, lease_until INTEGER,
    due_at INTEGER);
  CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status = 'pending';
  CREATE INDEX deliveries_webhook_due ON deliveries (webhook, due_at) WHERE status = 'pending';
  CREATE INDEX deliveries_created ON deliveries (created_at, seq);
  CREATE INDEX deliveries_webhook_created ON deliveries (webhook, created_at, seq);
  CREATE INDEX deliveries_status_created ON deliveries (status, created_at, seq);
  CREATE INDEX deliveries_conversation_created ON deliveries (conversation_id, created_at, seq);
  CREATE TABLE delivery_attempts (
    delivery_seq INTEGER NOT NULL REFERENCES deliveries (seq), n INTEGER NOT NULL,
    at INTEGER NOT NULL, status INTEGER, duration_ms REAL NOT NULL, error TEXT,
    PRIMARY KEY (delivery_seq, n)) WITHOUT ROWID;`

/** Reads one PRAGMA of a database file, with the driver the store itself uses. */
function pragma(file: string, name: string): unknown {
  const raw = openSqliteDatabase(file)
  try {
    return Object.values(raw.prepare<[], Record<string, unknown>>(`PRAGMA ${name}`).get() ?? {})[0]
  } finally {
    raw.close()
  }
}

describe('SqliteStore on a file', () => {
  it('uses WAL, a versioned schema, and sees everything after reopening', async () => {
    const file = join(root, uid('reopen'), 'joon.db')
    const first = SqliteStore.open(file)
    await first.putBot(bot('lead-gen'))
    await first.putWebhook(webhook('crm'))
    const d1 = asyncDelivery('crm', 'c1', T)
    const d2 = asyncDelivery('crm', 'c1', T + 1)
    await first.createConversation(
      { id: 'c1', botId: 'lead-gen', state: state('lead-gen'), now: T },
      [d1],
    )
    const s2 = state('lead-gen', [['email', 'ü@example.com']])
    await first.updateConversation({ id: 'c1', expectedVersion: 1, state: s2, now: T + 1 }, [d2])
    await first.leaseDueDeliveries({ now: T + 5, limit: 1, leaseMs: 1000, owner: 'w' })
    await first.completeAttempt({
      id: d1.id,
      owner: 'w',
      attempt: { at: T + 5, status: 500, durationMs: 3, error: 'HTTP 500' },
      outcome: { status: 'pending', nextAttemptAt: T + 100 },
    })
    await first.leaseDueDeliveries({ now: T + 5, limit: 1, leaseMs: 1000, owner: 'crashed' })
    await first.close()
    await first.close() // closing twice is harmless

    expect(pragma(file, 'journal_mode')).toBe('wal')
    expect(pragma(file, 'user_version')).toBe(SCHEMA_VERSION)

    const second = SqliteStore.open(file)
    expect(await second.getBot('lead-gen')).toEqual(bot('lead-gen'))
    expect(await second.listWebhooks()).toEqual([webhook('crm')])
    expect(await second.getConversation('c1')).toMatchObject({ version: 2, state: s2 })
    expect(await second.getDelivery(d1.id)).toMatchObject({
      status: 'pending',
      attempts: 1,
      nextAttemptAt: T + 100,
      history: [{ at: T + 5, status: 500, durationMs: 3, error: 'HTTP 500' }],
    })
    // The lease of the worker that "crashed" with the first store still holds, then expires.
    expect(await second.getDelivery(d2.id)).toMatchObject({ leaseOwner: 'crashed' })
    expect(await second.nextDueAt()).toBe(T + 100)
    const again = await second.leaseDueDeliveries({
      now: T + 1005,
      limit: 5,
      leaseMs: 10,
      owner: 'w2',
    })
    expect(again.map((d) => d.id).sort()).toEqual([d1.id, d2.id].sort())
    await second.close()
  })

  it('syncs every commit when asked for full durability', async () => {
    const file = join(root, `${uid('full')}.db`)
    const store = SqliteStore.open(file, { synchronous: 'full' })
    await store.putBot(bot('x'))
    await store.close()
    const again = SqliteStore.open(file, { synchronous: 'full' })
    expect(await again.getBot('x')).toEqual(bot('x'))
    await again.close()
  })

  it('migrates a version 1 file, keeping its data and delivery history', async () => {
    const dir = join(root, uid('v1'))
    await mkdir(dir)
    const file = join(dir, 'joon.db')
    const raw = openSqliteDatabase(file)
    raw.exec(VERSION_1_SCHEMA)
    const insert = raw.prepare<[string, string, number, number, number | null, number | null]>(
      `INSERT INTO deliveries (id, webhook, conversation_id, async, status, body, attempts,
         created_at, next_attempt_at, due_at) VALUES (?, 'crm', 'c1', 1, ?, '{}', ?, ?, ?, ?)`,
    )
    insert.run('msg_old', 'failed', 2, T, null, null)
    insert.run('msg_new', 'pending', 1, T + 1, T + 50, T + 50)
    raw.exec(`INSERT INTO delivery_attempts VALUES
      (1, 2, ${T + 20}, NULL, 10000, 'timed out after 10000 ms'),
      (1, 1, ${T + 10}, 500, 3.5, 'HTTP 500'),
      (2, 1, ${T + 11}, 503, 4, NULL);
      PRAGMA user_version = 1`)
    raw.close()

    const migrated = SqliteStore.open(file)
    expect(await migrated.getDelivery('msg_old')).toMatchObject({
      status: 'failed',
      attempts: 2,
      history: [
        { at: T + 10, status: 500, durationMs: 3.5, error: 'HTTP 500' },
        { at: T + 20, status: null, durationMs: 10000, error: 'timed out after 10000 ms' },
      ],
    })
    expect((await migrated.getDelivery('msg_new'))?.history).toEqual([
      { at: T + 11, status: 503, durationMs: 4, error: null },
    ])
    expect((await migrated.listDeliveries({ limit: 5 })).map((d) => d.id)).toEqual([
      'msg_new',
      'msg_old',
    ])
    expect((await migrated.listDeliveries({ status: 'failed', limit: 5 }))[0]?.id).toBe('msg_old')
    expect(await migrated.nextDueAt()).toBe(T + 50)
    const [leased] = await migrated.leaseDueDeliveries({
      now: T + 50,
      limit: 5,
      leaseMs: 10,
      owner: 'w',
    })
    await migrated.completeAttempt({
      id: 'msg_new',
      owner: 'w',
      attempt: { at: T + 60, status: 204, durationMs: 2, error: null },
      outcome: { status: 'delivered' },
    })
    expect(leased?.id).toBe('msg_new')
    expect((await migrated.getDelivery('msg_new'))?.history).toHaveLength(2)
    await migrated.close()
    expect(pragma(file, 'user_version')).toBe(SCHEMA_VERSION)
    const check = openSqliteDatabase(file)
    const names = check
      .prepare<[], { name: string }>(
        "SELECT name FROM sqlite_master WHERE tbl_name IN ('deliveries', 'delivery_attempts')",
      )
      .all()
      .map((row) => row.name)
    check.close()
    expect(names.sort()).toEqual([
      'deliveries',
      'deliveries_conversation',
      'deliveries_failed',
      'deliveries_webhook_due',
      'deliveries_webhook_seq',
      'sqlite_autoindex_deliveries_1',
    ])
  })

  it('migrates bots to version 1 and pins existing conversations to it', async () => {
    const dir = join(root, uid('v3'))
    await mkdir(dir)
    const file = join(dir, 'joon.db')
    const raw = openSqliteDatabase(file)
    raw.exec(VERSION_1_SCHEMA)
    const insertBot = raw.prepare<[string, string]>('INSERT INTO bots (id, data) VALUES (?, ?)')
    insertBot.run('lead-gen', JSON.stringify(bot('lead-gen')))
    insertBot.run('other', JSON.stringify(bot('other', 'Other')))
    const insertConversation = raw.prepare<[string, string, string]>(
      `INSERT INTO conversations (id, bot_id, state, version, created_at, updated_at)
       VALUES (?, ?, ?, 3, ${T}, ${T})`,
    )
    const ended = { ...state('lead-gen'), at: null, waiting: null, ended: true }
    insertConversation.run(
      'c-live',
      'lead-gen',
      JSON.stringify({ ...state('lead-gen'), at: 'ask' }),
    )
    insertConversation.run(
      'c-hook',
      'lead-gen',
      JSON.stringify({ ...state('lead-gen'), at: 'hook' }),
    )
    insertConversation.run('c-ended', 'lead-gen', JSON.stringify(ended))
    raw.exec('PRAGMA user_version = 1')
    raw.close()

    const before = Date.now()
    const migrated = SqliteStore.open(file)
    expect(await migrated.getBot('lead-gen')).toEqual(bot('lead-gen'))
    expect(await migrated.listBots()).toEqual([bot('lead-gen'), bot('other', 'Other')])
    const [v1] = await migrated.listBotVersions('lead-gen')
    expect(v1).toMatchObject({ version: 1, source: 'api', file: null, blocks: 2 })
    expect(v1!.savedAt).toBeGreaterThanOrEqual(before - 1000)
    expect(await migrated.getConversation('c-live')).toMatchObject({ botVersion: 1, version: 3 })
    expect(await migrated.getConversation('c-ended')).toMatchObject({ botVersion: 1 })
    expect(await migrated.countLiveConversations('lead-gen')).toEqual({
      live: 2,
      byBlock: { ask: 1, hook: 1 },
      byVersion: { '1': 2 },
    })
    // Results on migrated data: listed, searchable, counted (a conversation from before
    // reached the block it waits on, as far as Joon can tell), deletable.
    const listed = await migrated.listConversations({ botId: 'lead-gen', limit: 2 })
    expect(listed.conversations.map((c) => c.id)).toEqual(['c-live', 'c-hook'])
    expect(listed.next).toEqual({ createdAt: T, id: 'c-hook' })
    expect((await migrated.getConversation('c-live'))?.reached).toEqual(['ask'])
    expect((await migrated.getConversation('c-ended'))?.reached).toEqual([])
    expect(
      (await migrated.listConversations({ q: 'YOUR EMAIL', ended: true, limit: 5 })).conversations,
    ).toHaveLength(1)
    const funnel = await migrated.funnel('lead-gen')
    expect(funnel.conversations).toBe(3)
    expect({ ...funnel.reached }).toEqual({ ask: 1, hook: 1 })
    expect(await migrated.deleteConversation('c-hook')).toBe(true)
    expect(await migrated.putBot(bot('lead-gen', 'Edited'), { source: 'console' })).toEqual({
      created: false,
      version: 2,
    })
    expect(await migrated.getBotVersion('lead-gen', 1)).toEqual(bot('lead-gen'))
    await migrated.updateConversation({ id: 'c-live', expectedVersion: 3, state: ended, now: T })
    expect((await migrated.countLiveConversations('lead-gen')).byBlock).toEqual({})
    await migrated.close()
    expect(pragma(file, 'user_version')).toBe(SCHEMA_VERSION)
  })

  it('leaves no readable copy of a deleted conversation in the file', async () => {
    const file = join(root, uid('erase'), 'joon.db')
    const store = SqliteStore.open(file)
    await store.putWebhook(webhook('crm'))
    const secret = 'erase-me-7f3a@example.com'
    const s1 = state('lead-gen', [['email', secret]])
    s1.messages.push({ from: 'user', text: `It is ${secret}` })
    await store.createConversation({ id: 'gone', botId: 'lead-gen', state: s1, now: T }, [
      asyncDelivery('crm', 'gone', T, { body: JSON.stringify({ email: secret }) }),
    ])
    for (let v = 1; v <= 3; v++) {
      await store.updateConversation({ id: 'gone', expectedVersion: v, state: s1, now: T + v })
    }
    await store.createConversation({
      id: 'kept',
      botId: 'lead-gen',
      state: state('lead-gen'),
      now: T,
    })
    expect(await store.deleteConversation('gone')).toBe(true)
    await store.close()
    const { readFileSync } = await import('node:fs')
    expect(readFileSync(file).includes(secret)).toBe(false)
    expect(readFileSync(file).includes('What is your email?')).toBe(true)
  })

  it('refuses a database from a newer Joon', async () => {
    const file = join(root, `${uid('newer')}.db`)
    const raw = openSqliteDatabase(file)
    raw.exec('PRAGMA user_version = 99')
    raw.close()
    expect(() => SqliteStore.open(file)).toThrow(/version 99, newer than this Joon/)
  })

  it('migrates once when two stores open the same new file', async () => {
    const file = join(root, uid('twice'), 'joon.db')
    const a = SqliteStore.open(file)
    const b = SqliteStore.open(file)
    await a.putBot(bot('x'))
    expect(await b.getBot('x')).toEqual(bot('x'))
    expect(await b.putBot(bot('x'))).toEqual({ created: false, version: 2 })
    await a.close()
    await b.close()
  })
})

describe('SqliteStore group commit', () => {
  /** Bytes in the WAL file (not checkpointed this early): every commit appends frames. */
  const walBytes = (file: string) => statSync(`${file}-wal`).size

  it('commits the writes of one event-loop turn together, each with its own outcome', async () => {
    const file = join(root, uid('group'), 'joon.db')
    const store = SqliteStore.open(file)
    const ids = Array.from({ length: 20 }, (_, i) => `c${i}`)
    const started = walBytes(file)
    await Promise.all(
      ids.map((id) => store.createConversation({ id, botId: 'b', state: state('b'), now: T })),
    )
    const grouped = walBytes(file) - started
    // The same 20 writes one after another: a commit each.
    for (const id of ids) {
      expect(
        await store.updateConversation({ id, expectedVersion: 1, state: state('b'), now: T }),
      ).toBe(true)
    }
    const oneByOne = walBytes(file) - started - grouped
    expect(grouped).toBeLessThan(oneByOne / 4)

    // In one group: a racing pair on c0 (one wins), a duplicate id (conflict), a new row.
    const outcomes = await Promise.allSettled([
      store.updateConversation({ id: 'c0', expectedVersion: 2, state: state('b'), now: T + 1 }),
      store.updateConversation({ id: 'c0', expectedVersion: 2, state: state('b'), now: T + 2 }),
      store.createConversation({ id: 'c1', botId: 'b', state: state('b'), now: T }),
      store.createConversation({ id: 'c-new', botId: 'b', state: state('b'), now: T }, [
        asyncDelivery('crm', 'c-new', T),
      ]),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ])
    expect(outcomes.slice(0, 2).map((o) => (o as PromiseFulfilledResult<boolean>).value)).toEqual([
      true,
      false,
    ])
    expect(String((outcomes[2] as PromiseRejectedResult).reason)).toMatch(/already exists/)
    expect((await store.getConversation('c0'))?.version).toBe(3)
    expect((await store.getConversation('c0'))?.updatedAt).toBe(T + 1)
    expect((await store.getConversation('c1'))?.version).toBe(2)
    expect(await store.listDeliveries({ conversationId: 'c-new', limit: 10 })).toHaveLength(1)
    await store.close()
  })

  it('runs the writes of a group one by one when one fails for another reason', async () => {
    const file = join(root, uid('group-fallback'), 'joon.db')
    const store = SqliteStore.open(file)
    // A status the schema's CHECK refuses: not a unique-key conflict, so the group is undone.
    const bad = { ...asyncDelivery('crm', 'c2', T), status: 'lost' as 'failed' }
    const outcomes = await Promise.allSettled([
      store.createConversation({ id: 'c1', botId: 'b', state: state('b'), now: T }),
      store.createConversation({ id: 'c2', botId: 'b', state: state('b'), now: T }, [bad]),
      store.recordDelivery(asyncDelivery('crm', 'c3', T)),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
    ])
    expect(await store.getConversation('c1')).not.toBeNull()
    // Atomic still: the refused delivery took its conversation with it.
    expect(await store.getConversation('c2')).toBeNull()
    expect(await store.countDeliveries()).toBe(1)
    await store.close()
  })

  it('writes what is queued before closing', async () => {
    const file = join(root, uid('group-close'), 'joon.db')
    const store = SqliteStore.open(file)
    const written = store.createConversation({ id: 'c1', botId: 'b', state: state('b'), now: T })
    await store.close()
    await written
    const reopened = SqliteStore.open(file)
    expect(await reopened.getConversation('c1')).not.toBeNull()
    await reopened.close()
  })
})

describe('SqliteStore shared by processes', () => {
  let compiled: string
  beforeAll(async () => {
    compiled = join(root, 'compiled')
    await compileStore(compiled)
  })

  it('leases without double-claiming and lets one racing update win, across processes', async () => {
    const file = join(root, uid('multi'), 'joon.db')
    const store = SqliteStore.open(file)
    const deliveries = Array.from({ length: 3000 }, (_, i) =>
      asyncDelivery(`hook-${i % 5}`, 'c', T + i),
    )
    await store.createConversation(
      { id: 'seed', botId: 'b', state: state('b'), now: T },
      deliveries,
    )
    const conversations = Array.from({ length: 150 }, (_, i) => `race-${i}`)
    for (const id of conversations) {
      await store.createConversation({ id, botId: 'b', state: state('b'), now: T })
    }
    await store.close()

    const script = join(compiled, 'worker.mjs')
    await writeFile(
      script,
      `import { SqliteStore } from './sqlite.js'
      const [file, owner, conversations] = process.argv.slice(2)
      const store = SqliteStore.open(file)
      ${WAIT_FOR_GO}
      const wins = []
      const leased = []
      let updated = 0
      for (;;) {
        const batch = await store.leaseDueDeliveries({ now: Date.now(), limit: 7, leaseMs: 600000, owner, perWebhookLimit: 3 })
        for (const d of batch) {
          leased.push(d.id)
          const ok = await store.completeAttempt({ id: d.id, owner, attempt: { at: Date.now(), status: 200, durationMs: 1, error: null }, outcome: { status: 'delivered' } })
          if (!ok) throw new Error('lost lease of ' + d.id)
        }
        const id = conversations.split(',')[updated++]
        if (id) {
          const won = await store.updateConversation(
            { id, expectedVersion: 1, state: { v: 1, botId: 'b', at: null, waiting: null, ended: true, context: [['by', owner]], messages: [], calls: 0 }, now: Date.now() },
            [{ id: id + '-' + owner, webhook: 'race', conversationId: id, async: true, body: '{}', createdAt: Date.now(), nextAttemptAt: Number.MAX_SAFE_INTEGER }],
          )
          if (won) wins.push(id)
        }
        if (batch.length === 0 && !id) break
        // Hand the CPU over now and then, as a worker sending HTTP requests would.
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
      await store.close()
      process.stdout.write(JSON.stringify({ leased, wins }))
      `,
    )
    const owners = ['p1', 'p2', 'p3']
    const results = await runTogether(
      script,
      owners.map((owner) => [file, owner, conversations.join(',')]),
    )
    const outputs = results.map((r) => {
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      return JSON.parse(r.stdout.split('\n').at(-1)!) as { leased: string[]; wins: string[] }
    })

    const leased = outputs.flatMap((o) => o.leased)
    expect(new Set(leased).size).toBe(leased.length)
    expect(leased).toHaveLength(deliveries.length)
    // The leases really ran side by side (one process may still be starved by SQLite's busy
    // backoff on a loaded machine, which is fine: nothing is claimed twice either way).
    expect(outputs.filter((o) => o.leased.length > 0).length).toBeGreaterThanOrEqual(2)

    const wins = outputs.flatMap((o) => o.wins)
    expect(wins.sort()).toEqual([...conversations].sort())

    const check = SqliteStore.open(file)
    expect(await check.countDeliveries({ status: 'delivered' })).toBe(deliveries.length)
    expect(await check.countDeliveries({ webhook: 'race' })).toBe(conversations.length)
    for (const id of conversations.slice(0, 20)) {
      const conversation = await check.getConversation(id)
      const [only, ...rest] = await check.listDeliveries({ conversationId: id, limit: 5 })
      expect(rest).toEqual([])
      expect(only?.id).toBe(`${id}-${conversation?.state.context[0]?.[1]}`)
      expect(conversation?.version).toBe(2)
    }
    await check.close()
  }, 60_000)

  it('lets processes that start at the same moment create and migrate one new file', async () => {
    const file = join(root, uid('start'), 'joon.db')
    const script = join(compiled, 'starter.mjs')
    await writeFile(
      script,
      `import { SqliteStore } from './sqlite.js'
      const [file, name] = process.argv.slice(2)
      ${WAIT_FOR_GO}
      const store = SqliteStore.open(file)
      const { created } = await store.putWebhook({ name, url: 'https://example.com/' + name, timeoutMs: 1000 })
      await store.close()
      process.stdout.write(String(created))
      `,
    )
    const names = ['w1', 'w2', 'w3', 'w4']
    const results = await runTogether(
      script,
      names.map((name) => [file, name]),
    )
    for (const r of results) expect([r.stderr, r.code, r.stdout]).toEqual(['', 0, 'ready\ntrue'])
    const store = SqliteStore.open(file)
    expect((await store.listWebhooks()).map((w) => w.name)).toEqual(names)
    await store.close()
    expect(pragma(file, 'user_version')).toBe(SCHEMA_VERSION)
  }, 30_000)

  it('keeps every acknowledged write when the process is killed with SIGKILL', async () => {
    const file = join(root, uid('sigkill'), 'joon.db')
    const script = join(compiled, 'writer.mjs')
    await writeFile(
      script,
      `import { SqliteStore } from './sqlite.js'
      const store = SqliteStore.open(process.argv[2])
      for (let i = 0; ; i++) {
        const id = 'c' + i
        const state = { v: 1, botId: 'b', at: 'x', waiting: 'input', ended: false, context: [['i', i]], messages: [], calls: 0 }
        await store.createConversation({ id, botId: 'b', state, now: Date.now() },
          [{ id: 'd' + i, webhook: 'crm', conversationId: id, async: true, body: '{"i":' + i + '}', createdAt: Date.now() }])
        process.stdout.write(id + '\\n')
      }
      `,
    )
    const acknowledged: string[] = []
    const result = await runNode(script, [file], (line, kill) => {
      acknowledged.push(line)
      if (acknowledged.length === 500) kill()
    })
    expect(result.signal).toBe('SIGKILL')
    expect(acknowledged.length).toBeGreaterThanOrEqual(500)

    const store = SqliteStore.open(file)
    for (const id of acknowledged) {
      const i = Number(id.slice(1))
      expect((await store.getConversation(id))?.state.context).toEqual([['i', i]])
      expect((await store.getDelivery(`d${i}`))?.status).toBe('pending')
    }
    expect(await store.countDeliveries()).toBeGreaterThanOrEqual(acknowledged.length)
    await store.close()
  }, 60_000)
})
