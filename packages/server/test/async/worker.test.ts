import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Webhook } from '@joon/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createWebhookSender } from '../../src/delivery/send.js'
import {
  type DeliveryWorker,
  type DeliveryWorkerOptions,
  startDeliveryWorker,
} from '../../src/delivery/worker.js'
import { SqliteStore } from '../../src/store/sqlite.js'
import type { NewDelivery, Store } from '../../src/store/types.js'
import {
  freePort,
  logSink,
  newSecret,
  type Receiver,
  type Reply,
  sleep,
  startReceiver,
  verifySignature,
  waitFor,
} from './support.js'

const cleanups: (() => unknown)[] = []
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)

beforeEach(() => {
  process.on('unhandledRejection', onUnhandled)
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  process.off('unhandledRejection', onUnhandled)
  expect(unhandled.splice(0)).toEqual([])
})

function openStore(): SqliteStore {
  const dir = mkdtempSync(join(tmpdir(), 'joon-worker-'))
  const store = SqliteStore.open(join(dir, 'joon.db'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  cleanups.push(() => store.close())
  return store
}

async function receiver(reply: Reply, port = 0): Promise<Receiver> {
  const started = await startReceiver(reply, port)
  cleanups.push(() => started.close())
  return started
}

const sender = createWebhookSender({ allowPrivate: true, userAgent: 'joon/test' })

function start(
  store: Store,
  options: Partial<DeliveryWorkerOptions> = {},
): DeliveryWorker & { logs: ReturnType<typeof logSink> } {
  const logs = logSink()
  const worker = startDeliveryWorker({
    store,
    sender,
    owner: `test-${Math.random()}`,
    schedule: [0, 20, 40],
    log: logs.log,
    ...options,
  })
  cleanups.push(() => worker.stop())
  return Object.assign(worker, { logs })
}

let sequence = 0
function delivery(webhook: string, overrides: Partial<NewDelivery> = {}): NewDelivery {
  sequence++
  return {
    id: `msg_${sequence}_${Math.random().toString(36).slice(2)}`,
    webhook,
    conversationId: `conv_${sequence}`,
    async: true,
    body: JSON.stringify({ email: `lead${sequence}@example.com`, conversation: 'Bot: hi\n' }),
    createdAt: Date.now(),
    ...overrides,
  }
}

function hook(name: string, url: string, extra: Partial<Webhook> = {}): Webhook {
  return { name, url, timeoutMs: 2_000, ...extra }
}

const answer =
  (status: number, headers: Record<string, string> = {}, body = ''): Reply =>
  (_received, response) => {
    response.writeHead(status, headers)
    response.end(body)
  }

/** Answers each request with the next status of `statuses` (the last one repeats). */
function sequenceOf(statuses: number[]): Reply {
  let index = 0
  return (received, response, request) => {
    const status = statuses[Math.min(index++, statuses.length - 1)] ?? 200
    answer(status)(received, response, request)
  }
}

describe('delivery worker', () => {
  it('retries 500, 500, then 200: one delivery, three attempts, one webhook-id, valid signatures', async () => {
    const store = openStore()
    const target = await receiver(sequenceOf([500, 500, 200]))
    const secret = newSecret()
    await store.putWebhook(hook('crm', target.url, { secret, headers: { 'X-Api-Key': 'abc' } }))
    const queued = delivery('crm')
    await store.recordDelivery(queued)
    start(store, { schedule: [0, 50, 100] })

    await waitFor(
      'delivered',
      async () => (await store.getDelivery(queued.id))?.status === 'delivered',
    )
    const stored = await store.getDelivery(queued.id)
    expect(stored).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200 })
    expect(stored?.history.map((attempt) => attempt.status)).toEqual([500, 500, 200])
    expect(stored?.history[0]?.error).toMatch(/500/)
    expect(stored?.history[2]?.error).toBeNull()

    expect(target.received).toHaveLength(3)
    expect(new Set(target.received.map((r) => r.id))).toEqual(new Set([queued.id]))
    for (const request of target.received) {
      expect(request.body).toBe(queued.body)
      expect(request.headers['x-api-key']).toBe('abc')
      expect(() => verifySignature(secret, request)).not.toThrow()
    }
    // The retries waited for their slot of the schedule (50 ms, then 100 ms, ±20%).
    const [first, second, third] = target.received.map((r) => r.at)
    expect(second! - first!).toBeGreaterThanOrEqual(35)
    expect(third! - second!).toBeGreaterThanOrEqual(75)
    expect(await store.countDeliveries({ status: 'pending' })).toBe(0)
  })

  it('marks a delivery failed at once on 410 Gone', async () => {
    const store = openStore()
    const target = await receiver(answer(410, {}, 'endpoint removed'))
    await store.putWebhook(hook('gone', target.url))
    const queued = delivery('gone')
    await store.recordDelivery(queued)
    const worker = start(store)

    await waitFor('failed', async () => (await store.getDelivery(queued.id))?.status === 'failed')
    expect(await store.getDelivery(queued.id)).toMatchObject({ attempts: 1, lastStatus: 410 })
    expect(worker.logs.events('delivery.failed')).toHaveLength(1)
    await sleep(100)
    expect(target.received).toHaveLength(1)
  })

  it('fails after the last attempt of the schedule, and a replay sends it again', async () => {
    const store = openStore()
    let healthy = false
    const target = await receiver((received, response, request) =>
      answer(healthy ? 204 : 503, {}, 'down for maintenance')(received, response, request),
    )
    await store.putWebhook(hook('crm', target.url))
    const queued = delivery('crm')
    await store.recordDelivery(queued)
    const worker = start(store, { schedule: [0, 10, 10] })

    await waitFor('failed', async () => (await store.getDelivery(queued.id))?.status === 'failed')
    const failed = await store.getDelivery(queued.id)
    expect(failed).toMatchObject({ attempts: 3, lastStatus: 503, nextAttemptAt: null })
    expect(failed?.lastError).toContain('down for maintenance')
    expect((await store.listDeliveries({ status: 'failed', limit: 10 })).map((d) => d.id)).toEqual([
      queued.id,
    ])

    // What `POST /api/v1/admin/deliveries/:id/retry` does.
    healthy = true
    await store.retryDelivery(queued.id, Date.now())
    worker.wake()
    await waitFor(
      'delivered',
      async () => (await store.getDelivery(queued.id))?.status === 'delivered',
    )
    expect(await store.getDelivery(queued.id)).toMatchObject({ attempts: 4, lastStatus: 204 })
    expect(new Set(target.received.map((r) => r.id))).toEqual(new Set([queued.id]))
  })

  it('honours Retry-After when it is longer than the scheduled delay', async () => {
    const store = openStore()
    let calls = 0
    const target = await receiver((received, response, request) => {
      calls++
      if (calls === 1) answer(429, { 'retry-after': '1' })(received, response, request)
      else answer(200)(received, response, request)
    })
    await store.putWebhook(hook('crm', target.url))
    const queued = delivery('crm')
    await store.recordDelivery(queued)
    start(store, { schedule: [0, 10, 10] })

    await waitFor(
      'delivered',
      async () => (await store.getDelivery(queued.id))?.status === 'delivered',
    )
    const [first, second] = target.received.map((r) => r.at)
    expect(second! - first!).toBeGreaterThanOrEqual(950)
  })

  it('treats 3xx, timeouts and refused connections as failures, and any 2xx as delivered', async () => {
    const store = openStore()
    let calls = 0
    const target = await receiver((received, response, request) => {
      calls++
      if (calls === 1)
        answer(302, { location: 'http://127.0.0.1:1/elsewhere' })(received, response, request)
      else if (calls === 2)
        return // hangs past the webhook's timeout
      else
        answer(200, { 'content-type': 'text/plain' }, 'OK, not JSON')(received, response, request)
    })
    const refused = `http://127.0.0.1:${await freePort()}/hook`
    await store.putWebhook(hook('flaky', target.url, { timeoutMs: 300 }))
    await store.putWebhook(hook('refused', refused))
    const flaky = delivery('flaky')
    const nobody = delivery('refused')
    await store.recordDelivery(flaky)
    await store.recordDelivery(nobody)
    start(store, { schedule: [0, 10, 10] })

    await waitFor('both settled', async () => {
      const a = await store.getDelivery(flaky.id)
      const b = await store.getDelivery(nobody.id)
      return a?.status === 'delivered' && b?.status === 'failed'
    })
    const a = await store.getDelivery(flaky.id)
    expect(a?.history.map((attempt) => attempt.status)).toEqual([302, null, 200])
    expect(a?.history[0]?.error).toMatch(/redirect/)
    expect(a?.history[1]?.error).toMatch(/time/i)
    expect(a?.history[1]?.durationMs).toBeGreaterThanOrEqual(250)
    const b = await store.getDelivery(nobody.id)
    expect(b?.history.map((attempt) => attempt.status)).toEqual([null, null, null])
    expect(b?.lastError).toMatch(/refused|ECONNREFUSED|connect/i)
  })

  it('keeps at most 2 KB of an error', async () => {
    const store = openStore()
    const target = await receiver(answer(500, {}, 'é'.repeat(10_000)))
    await store.putWebhook(hook('crm', target.url))
    const queued = delivery('crm')
    await store.recordDelivery(queued)
    start(store, { schedule: [0] })

    await waitFor('failed', async () => (await store.getDelivery(queued.id))?.status === 'failed')
    const stored = await store.getDelivery(queued.id)
    expect(Buffer.byteLength(stored?.lastError ?? '')).toBeLessThanOrEqual(2048)
    expect(Buffer.byteLength(stored?.history[0]?.error ?? '')).toBeLessThanOrEqual(2048)
    expect(stored?.lastError).toContain('éé')
  })

  it('records a failed attempt for a webhook that no longer exists, and delivers once it is back', async () => {
    const store = openStore()
    const target = await receiver(answer(200))
    const queued = delivery('removed')
    await store.recordDelivery(queued)
    start(store, { schedule: [0, 300, 300] })

    await waitFor('first attempt', async () => (await store.getDelivery(queued.id))?.attempts === 1)
    const first = await store.getDelivery(queued.id)
    expect(first).toMatchObject({ status: 'pending', lastStatus: null })
    expect(first?.lastError).toMatch(/webhook "removed" is not registered/)

    await store.putWebhook(hook('removed', target.url))
    await waitFor(
      'delivered',
      async () => (await store.getDelivery(queued.id))?.status === 'delivered',
    )
    expect(target.received.map((r) => r.id)).toEqual([queued.id])
  })

  it('sends with an edited webhook (url, secret) within a second of the edit', async () => {
    const store = openStore()
    const before = await receiver(answer(204))
    const after = await receiver(answer(204))
    const secret = newSecret()
    await store.putWebhook(hook('crm', before.url))
    const worker = start(store)
    const first = delivery('crm')
    await store.recordDelivery(first)
    worker.wake()
    await waitFor('first sent', async () => before.received.length === 1)

    await store.putWebhook(hook('crm', after.url, { secret }))
    await sleep(1_100)
    const second = delivery('crm')
    await store.recordDelivery(second)
    worker.wake()
    await waitFor('second sent', async () => after.received.length === 1)
    expect(before.received.map((r) => r.id)).toEqual([first.id])
    const [received] = after.received
    expect(received?.id).toBe(second.id)
    verifySignature(secret, received!)
  })

  it('takes a delivery again once the lease of a crashed worker runs out', async () => {
    const store = openStore()
    const target = await receiver(answer(200))
    await store.putWebhook(hook('crm', target.url))
    const queued = delivery('crm')
    await store.recordDelivery(queued)
    const leasedAt = Date.now()
    const [taken] = await store.leaseDueDeliveries({
      now: leasedAt,
      limit: 10,
      leaseMs: 400,
      owner: 'crashed-worker',
    })
    expect(taken?.id).toBe(queued.id)
    const startedAt = performance.now()
    start(store, { pollMs: 50 })

    await waitFor(
      'delivered',
      async () => (await store.getDelivery(queued.id))?.status === 'delivered',
    )
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(300)
    expect(target.received).toHaveLength(1)
    // The crashed worker's late report is refused: the delivery is no longer its own.
    expect(
      await store.completeAttempt({
        id: queued.id,
        owner: 'crashed-worker',
        attempt: { at: Date.now(), status: 200, durationMs: 1, error: null },
        outcome: { status: 'delivered' },
      }),
    ).toBe(false)
    expect((await store.getDelivery(queued.id))?.attempts).toBe(1)
  })

  it('sends at once on wake(), and finds deliveries queued by another process by polling', async () => {
    const store = openStore()
    const target = await receiver(answer(200))
    await store.putWebhook(hook('crm', target.url))
    // Polling once a minute: only wake() can explain a delivery within the test.
    const woken = start(store, { pollMs: 60_000 })
    await sleep(100) // idle: nothing is pending, the worker sleeps
    const first = delivery('crm')
    await store.recordDelivery(first)
    woken.wake()
    await waitFor('woken delivery', () => target.received.length === 1, 5_000)
    expect(target.received[0]?.id).toBe(first.id)
    await woken.stop()

    // As another instance would queue it: no wake() here, the poll finds it.
    start(store, { pollMs: 100 })
    await sleep(150)
    const polled = delivery('crm')
    await store.recordDelivery(polled)
    await waitFor('polled delivery', () => target.received.length === 2, 5_000)
    expect(target.received[1]?.id).toBe(polled.id)
  })

  it('stop() lets attempts in flight finish, then takes nothing more', async () => {
    const store = openStore()
    const target = await receiver((received, response, request) => {
      setTimeout(() => answer(200)(received, response, request), 300)
    })
    await store.putWebhook(hook('crm', target.url))
    const first = delivery('crm')
    await store.recordDelivery(first)
    const worker = start(store)
    await waitFor('request in flight', () => target.received.length === 1)

    const stoppedAt = performance.now()
    await worker.stop()
    expect(performance.now() - stoppedAt).toBeGreaterThanOrEqual(200)
    expect((await store.getDelivery(first.id))?.status).toBe('delivered')

    const second = delivery('crm')
    await store.recordDelivery(second)
    worker.wake()
    await sleep(200)
    expect(target.received).toHaveLength(1)
    expect((await store.getDelivery(second.id))?.status).toBe('pending')
  })

  it('logs store errors and carries on; nothing is left unhandled', async () => {
    const store = openStore()
    const target = await receiver(answer(200))
    await store.putWebhook(hook('crm', target.url))
    const queued = delivery('crm')
    await store.recordDelivery(queued)
    let failures = 2
    let completions = 0
    const flaky = new Proxy(store, {
      get(target, property) {
        if (property === 'leaseDueDeliveries' && failures-- > 0) {
          return () => Promise.reject(new Error('database is locked'))
        }
        // Recording the attempt fails once, whichever of the two calls the worker uses.
        if (property === 'completeAttempt' || property === 'completeAttempts') {
          const record = Reflect.get(target, property, target).bind(target) as (
            ...args: unknown[]
          ) => Promise<unknown>
          return (...args: unknown[]) =>
            completions++ === 0 ? Promise.reject(new Error('disk I/O error')) : record(...args)
        }
        const value = Reflect.get(target, property, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const worker = start(flaky)

    await waitFor(
      'delivered',
      async () => (await store.getDelivery(queued.id))?.status === 'delivered',
      8_000,
    )
    const errors = worker.logs.events('delivery.store_error').map((line) => line.fields.error)
    expect(errors).toEqual(['database is locked', 'database is locked', 'disk I/O error'])
    expect(target.received).toHaveLength(1)
  })

  it('never has more than its share of slots busy with one webhook', async () => {
    const store = openStore()
    const slow = await receiver((received, response, request) => {
      setTimeout(() => answer(200)(received, response, request), 100)
    })
    await store.putWebhook(hook('slow', slow.url))
    for (let i = 0; i < 40; i++) await store.recordDelivery(delivery('slow'))
    const worker = start(store, { concurrency: 8 })
    worker.wake()

    await waitFor(
      'all delivered',
      async () => (await store.countDeliveries({ status: 'delivered' })) === 40,
    )
    // concurrency 8 → 2 per webhook: 40 deliveries of 100 ms take about 2 s, never 8 at once.
    expect(slow.peakOpen()).toBe(2)
    expect(new Set(slow.received.map((r) => r.id)).size).toBe(40)
  })
  it("frees a slot when its call returns, while the outcome is being written (a slots' worth at most)", async () => {
    const store = openStore()
    const target = await receiver(answer(200))
    await store.putWebhook(hook('crm', target.url))
    for (let i = 0; i < 6; i++) await store.recordDelivery(delivery('crm'))
    let open!: () => void
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const slowToRecord = new Proxy(store, {
      get(target, property) {
        const value = Reflect.get(target, property, target)
        if (typeof value !== 'function') return value
        if (property !== 'completeAttempt') return value.bind(target)
        return async (...args: unknown[]) => {
          await gate
          return value.apply(target, args)
        }
      },
    })
    start(slowToRecord, { concurrency: 8 })

    // Two slots for the webhook: two calls, then two more while the first two outcomes are
    // still being written; no more until one is (a killed process would send them again).
    await waitFor('four calls made', () => target.received.length === 4)
    await sleep(100)
    expect(target.received).toHaveLength(4)
    expect(target.peakOpen()).toBeLessThanOrEqual(2)
    expect(await store.countDeliveries({ status: 'delivered' })).toBe(0)
    open()
    await waitFor(
      'all recorded',
      async () => (await store.countDeliveries({ status: 'delivered' })) === 6,
    )
    expect(new Set(target.received.map((r) => r.id)).size).toBe(6)
  })

  it("leases at most two slots' worth of a hanging webhook: another instance can take the rest", async () => {
    const store = openStore()
    const hanging = await receiver(() => {})
    await store.putWebhook(hook('hanging', hanging.url, { timeoutMs: 3_000 }))
    const queued = Array.from({ length: 10 }, () => delivery('hanging'))
    for (const one of queued) await store.recordDelivery(one)
    const worker = start(store, { concurrency: 8 })
    const leased = async () => {
      const records = await Promise.all(queued.map((one) => store.getDelivery(one.id)))
      return records.filter((record) => record?.leaseOwner).length
    }
    await waitFor('both slots busy, two more leased', async () => (await leased()) === 4)
    worker.wake()
    await sleep(50)

    // Two calls in flight and two waiting for them; six left for anyone else.
    const rest = await store.leaseDueDeliveries({
      now: Date.now(),
      limit: 100,
      leaseMs: 60_000,
      owner: 'another-instance',
    })
    expect(rest).toHaveLength(6)
    expect(hanging.received).toHaveLength(2)
  })
})

describe('fairness', () => {
  it('a dead and a hanging endpoint do not hold a healthy one back', async () => {
    const store = openStore()
    const healthy = await receiver((received, response, request) => {
      setTimeout(() => answer(200)(received, response, request), 20)
    })
    const hanging = await receiver(() => {})
    await store.putWebhook(hook('healthy', healthy.url))
    await store.putWebhook(hook('hanging', hanging.url, { timeoutMs: 3_000 }))
    await store.putWebhook(hook('refused', `http://127.0.0.1:${await freePort()}/hook`))
    // Older than the healthy ones, so they come first in every lease.
    const old = Date.now() - 60_000
    for (let i = 0; i < 60; i++) {
      await store.recordDelivery(delivery('hanging', { createdAt: old }))
      await store.recordDelivery(delivery('refused', { createdAt: old }))
    }
    const worker = start(store, { concurrency: 8, schedule: [0, 60_000] })
    await waitFor('the hanging endpoint holds its slots', () => hanging.peakOpen() === 2)
    for (let i = 0; i < 40; i++) await store.recordDelivery(delivery('healthy'))
    worker.wake()
    await waitFor(
      'healthy delivered',
      async () => (await store.countDeliveries({ webhook: 'healthy', status: 'delivered' })) === 40,
      15_000,
    )
    // Every healthy delivery went out while the hanging endpoint, two calls of 3 s at a time,
    // was still far from through its 60: they shared the slots, they did not queue behind it.
    expect(hanging.received.length).toBeLessThan(60)
    expect(hanging.peakOpen()).toBe(2)
    expect(healthy.peakOpen()).toBeLessThanOrEqual(2)
  }, 30_000)
})
