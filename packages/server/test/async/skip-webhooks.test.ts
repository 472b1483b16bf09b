import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/store/memory.js'
import { PostgresStore } from '../../src/store/postgres.js'
import { SqliteStore } from '../../src/store/sqlite.js'
import type { Store } from '../../src/store/types.js'

/**
 * The worker leaves webhooks it has no room for out of a lease (`skipWebhooks`), so a busy
 * endpoint's backlog stays due in the store, for this worker later or for another instance.
 */

const DATABASE_URL = process.env.JOON_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const T = 1_700_000_000_000

const stores: [string, () => Promise<{ store: Store; cleanup: () => Promise<void> }>][] = [
  ['MemoryStore', async () => ({ store: new MemoryStore(), cleanup: async () => {} })],
  [
    'SqliteStore',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'joon-skip-'))
      const store = SqliteStore.open(join(dir, 'joon.db'))
      return {
        store,
        cleanup: async () => {
          await store.close()
          rmSync(dir, { recursive: true, force: true })
        },
      }
    },
  ],
  [
    'PostgresStore',
    async () => {
      const schema = `joon_skip_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
      const store = await PostgresStore.open(DATABASE_URL, { schema })
      return {
        store,
        cleanup: async () => {
          await store.close()
          const admin = new pg.Client({ connectionString: DATABASE_URL })
          await admin.connect()
          await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
          await admin.end()
        },
      }
    },
  ],
]

describe.each(stores)('%s: leaseDueDeliveries({ skipWebhooks })', (_name, open) => {
  it('leaves the skipped webhooks due and leases the others', async () => {
    const { store, cleanup } = await open()
    try {
      for (const webhook of ['busy', 'idle', 'other']) {
        for (let i = 0; i < 3; i++) {
          await store.recordDelivery({
            id: `${webhook}-${i}`,
            webhook,
            conversationId: 'c',
            async: true,
            body: '{}',
            createdAt: T + (webhook === 'busy' ? 0 : 10) + i,
          })
        }
      }
      const lease = (skipWebhooks?: string[]) =>
        store.leaseDueDeliveries({
          now: T + 100,
          limit: 4,
          leaseMs: 1_000,
          owner: 'w',
          perWebhookLimit: 2,
          ...(skipWebhooks ? { skipWebhooks } : {}),
        })

      const taken = await lease(['busy'])
      expect(taken.map((d) => d.webhook).sort()).toEqual(['idle', 'idle', 'other', 'other'])
      // Still due: the next lease without the skip takes them first (they waited longest).
      const next = await lease()
      expect(next.map((d) => d.id)).toEqual(['busy-0', 'idle-2', 'other-2', 'busy-1'])
      expect(await lease(['busy', 'idle', 'other'])).toEqual([])
    } finally {
      await cleanup()
    }
  })
})
