import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { type RunningServer, startNodeServer } from '../../src/node.js'
import { PostgresStore } from '../../src/store/postgres.js'
import { SqliteStore } from '../../src/store/sqlite.js'
import type { Store } from '../../src/store/types.js'
import { bodyOf } from '../helpers.js'
import { newSecret, type Received, startReceiver, verifySignature, waitFor } from './support.js'

/**
 * The alert webhook end to end: `joon serve`'s Node entry with a real delivery loop, a
 * receiver that fails until told otherwise, and an alert receiver checking signatures.
 */

const DATABASE_URL = process.env.JOON_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const ADMIN = 'alerts-test-admin-token'
const cleanups: (() => unknown)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const stores: [string, () => Promise<Store>][] = [
  [
    'SqliteStore',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'joon-alerts-'))
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
      return SqliteStore.open(join(dir, 'joon.db'))
    },
  ],
  [
    'PostgresStore',
    async () => {
      const schema = `joon_alerts_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
      cleanups.push(async () => {
        const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 })
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
        await admin.end()
      })
      return PostgresStore.open(DATABASE_URL, { schema })
    },
  ],
]

const bot = {
  id: 'leads',
  name: 'Leads',
  start: 'notify',
  blocks: [
    { id: 'notify', type: 'webhook', webhook: 'crm', async: true, next: 'bye' },
    { id: 'bye', type: 'text', text: 'Thanks!' },
  ],
}

describe.each(stores)('the alert webhook on %s', (_name, openStore) => {
  it('gets a signed webhook.failed when retries run out, then webhook.recovered', async () => {
    let crmStatus = 500
    const crm = await startReceiver((_received, response) => {
      response.writeHead(crmStatus).end(crmStatus === 500 ? 'upstream down' : '')
    })
    cleanups.push(() => crm.close())
    const ops = await startReceiver((_received, response) => response.writeHead(204).end())
    cleanups.push(() => ops.close())
    const opsSecret = newSecret()
    const logs: { event: string; fields: Record<string, unknown> }[] = []
    const store = await openStore()
    await store.putWebhook({ name: 'crm', url: crm.url, secret: newSecret(), timeoutMs: 2_000 })
    await store.putWebhook({ name: 'ops', url: ops.url, secret: opsSecret, timeoutMs: 2_000 })
    const server: RunningServer = await startNodeServer({
      store,
      port: 0,
      host: '127.0.0.1',
      adminToken: ADMIN,
      allowPrivateUrls: true,
      rateLimit: 0,
      retrySchedule: [0, 20, 40],
      alertWebhook: 'ops',
      log: (event, fields) => logs.push({ event, fields }),
    })
    cleanups.push(() => server.close())
    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      return { status: response.status, json: await bodyOf(response) }
    }
    expect((await api('PUT', '/admin/bots/leads', bot)).status).toBe(201)
    const started = await api('POST', '/bots/leads/conversations', {
      variables: { email: 'a@example.com' },
    })
    expect(started.status).toBe(201)

    const events = (type: string) =>
      ops.received.filter((received: Received) => JSON.parse(received.body).type === type)
    await waitFor('the webhook.failed alert', () => events('webhook.failed').length === 1)
    expect(crm.received).toHaveLength(3)
    const [failed] = events('webhook.failed')
    verifySignature(opsSecret, failed!)
    const body = JSON.parse(failed!.body)
    expect(body).toEqual({
      type: 'webhook.failed',
      webhook: 'crm',
      delivery: {
        id: crm.received[0]!.id,
        conversationId: started.json.conversationId,
        async: true,
        attempts: 3,
        lastStatus: 500,
        lastError: expect.stringContaining('500'),
      },
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    })
    // Key order as documented: type, webhook, delivery, at.
    expect(Object.keys(body)).toEqual(['type', 'webhook', 'delivery', 'at'])
    const failing = (await api('GET', '/admin/webhooks/crm')).json.health
    expect(failing).toMatchObject({
      state: 'failing',
      consecutiveFailures: 3,
      failedDeliveries: 1,
      lastError: expect.stringContaining('500'),
    })
    // The alert is an ordinary delivery: listed, delivered, belonging to no conversation.
    const alerts = (await api('GET', '/admin/deliveries?webhook=ops')).json.deliveries
    await waitFor('the alert delivery recorded', async () => {
      const listed = (await api('GET', '/admin/deliveries?webhook=ops')).json.deliveries
      return listed[0]?.status === 'delivered'
    })
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toMatchObject({ webhook: 'ops', async: true, conversationId: null })
    expect(alerts[0].id).toBe(failed!.id)

    crmStatus = 200
    await api('POST', '/bots/leads/conversations', {})
    await waitFor('the webhook.recovered alert', () => events('webhook.recovered').length === 1)
    const [recovered] = events('webhook.recovered')
    verifySignature(opsSecret, recovered!)
    expect(JSON.parse(recovered!.body)).toEqual({
      type: 'webhook.recovered',
      webhook: 'crm',
      failedDeliveries: 1,
      consecutiveFailures: 3,
      at: expect.stringMatching(/Z$/),
    })
    expect((await api('GET', '/admin/webhooks/crm')).json.health).toMatchObject({
      state: 'healthy',
      consecutiveFailures: 0,
      failedDeliveries: 0,
    })
    // Healthy from then on: more successes bring no more alerts.
    await api('POST', '/bots/leads/conversations', {})
    await waitFor('the third call', () => crm.received.length === 5)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(ops.received).toHaveLength(2)
    expect(JSON.stringify(logs)).not.toContain(opsSecret)
  })

  it('never alerts about the alert webhook itself, and skips alerts while it is not registered', async () => {
    const down = await startReceiver((_received, response) => response.writeHead(503).end())
    cleanups.push(() => down.close())
    const logs: { event: string; fields: Record<string, unknown> }[] = []
    const store = await openStore()
    await store.putWebhook({ name: 'crm', url: down.url, timeoutMs: 2_000 })
    const server = await startNodeServer({
      store,
      port: 0,
      host: '127.0.0.1',
      allowPrivateUrls: true,
      retrySchedule: [0, 10],
      alertWebhook: 'ops',
      log: (event, fields) => logs.push({ event, fields }),
    })
    cleanups.push(() => server.close())
    const queue = (id: string, webhook: string) =>
      store.recordDelivery({
        id,
        webhook,
        conversationId: 'c',
        async: true,
        body: '{}',
        createdAt: Date.now(),
      })
    // A delivery to the alert webhook that fails for good (here: it is not registered).
    await queue('msg_to_ops', 'ops')
    await queue('msg_to_crm', 'crm')
    await waitFor('both to fail', async () => {
      const [ops, crm] = await Promise.all([
        store.getDelivery('msg_to_ops'),
        store.getDelivery('msg_to_crm'),
      ])
      return ops?.status === 'failed' && crm?.status === 'failed'
    })
    await waitFor('the skipped alert', () => logs.some((line) => line.event === 'alert.skipped'))
    const skipped = logs.filter((line) => line.event === 'alert.skipped')
    // Only crm's failure wanted an alert; none is about the alert webhook's own delivery.
    expect(skipped.map((line) => line.fields)).toEqual([
      {
        alertWebhook: 'ops',
        webhook: 'crm',
        delivery: 'msg_to_crm',
        reason: 'the alert webhook "ops" is not registered',
      },
    ])
    expect(await store.countDeliveries({ webhook: 'ops' })).toBe(1)
    expect((await store.getWebhookHealth('crm'))?.failedDeliveries).toBe(1)
  })
})
