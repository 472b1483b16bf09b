import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { getPriority, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import type { DeliveryWorker } from '../../src/delivery/worker.js'
import {
  DELIVERY_THREAD_NICE,
  startThreadedDeliveryWorker,
  type ThreadedWorkerOptions,
} from '../../src/delivery/worker-thread.js'
import { SqliteStore } from '../../src/store/sqlite.js'
import type { NewDelivery, Store } from '../../src/store/types.js'
import { state } from '../store/conformance.js'
import {
  logSink,
  newSecret,
  type Receiver,
  type Reply,
  startReceiver,
  verifySignature,
  waitFor,
} from './support.js'

/**
 * The worker as the Node server runs it: on its own thread (the build of `worker-thread-main`),
 * calling the store on this one by message.
 */
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function openStore(): SqliteStore {
  const dir = mkdtempSync(join(tmpdir(), 'joon-worker-thread-'))
  const store = SqliteStore.open(join(dir, 'joon.db'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  cleanups.push(() => store.close())
  return store
}

async function receiver(reply: Reply): Promise<Receiver> {
  const started = await startReceiver(reply)
  cleanups.push(() => started.close())
  return started
}

const ok: Reply = (_received, response) => response.end()

function start(store: Store, options: Partial<ThreadedWorkerOptions> = {}) {
  const logs = logSink()
  const worker = startThreadedDeliveryWorker({
    store,
    owner: `thread-${Math.random()}`,
    sender: { allowPrivate: true, userAgent: 'joon/test' },
    schedule: [0, 20, 40],
    log: logs.log,
    ...options,
  })
  cleanups.push(() => worker.stop())
  return Object.assign(worker, { logs })
}

/** The store, counting what the thread calls on it. */
function counting(store: Store, override: Partial<Store> = {}) {
  const calls = new Map<string, number>()
  const proxy = new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(override, property) ?? Reflect.get(target, property)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.set(String(property), (calls.get(String(property)) ?? 0) + 1)
        return value.apply(property in override ? override : target, args)
      }
    },
  })
  return { store: proxy, calls: (method: string) => calls.get(method) ?? 0 }
}

let sequence = 0
function delivery(webhook: string, lease?: { owner: string; until: number }): NewDelivery {
  sequence++
  return {
    id: `msg_${sequence}_${Math.random().toString(36).slice(2)}`,
    webhook,
    conversationId: `conv_${sequence}`,
    async: true,
    body: JSON.stringify({ lead: sequence }),
    createdAt: Date.now(),
    ...(lease ? { lease } : {}),
  }
}

/** A turn's outbox as `conversation.ts` writes it: claimed, stored, then adopted. */
async function queue(store: Store, worker: DeliveryWorker, count: number, webhook = 'crm') {
  const outbox = Array.from({ length: count }, () =>
    delivery(webhook, worker.claim(webhook) ?? undefined),
  )
  await store.createConversation(
    { id: `c_${Math.random()}`, botId: 'b', state: state('b'), now: Date.now() },
    outbox,
  )
  worker.adopt(outbox)
  return outbox
}

describe('delivery worker on its own thread', () => {
  it('sends claimed deliveries from memory, signed, without leasing them from the store', async () => {
    const sqlite = openStore()
    const secret = newSecret()
    const target = await receiver(ok)
    await sqlite.putWebhook({ name: 'crm', url: target.url, secret, timeoutMs: 2_000 })
    const { store, calls } = counting(sqlite)
    const worker = start(store)
    await waitFor('claims open', () => worker.claim('crm') !== null)
    const leasesBefore = calls('leaseDueDeliveries')

    // A new webhook's lane takes 8 (2 per slot) until its call time is known; one was claimed
    // by the look above.
    const outbox = [...(await queue(store, worker, 3)), ...(await queue(store, worker, 4))]
    expect(outbox.every((d) => d.lease)).toBe(true)
    await waitFor(
      'delivered',
      async () => (await store.countDeliveries({ status: 'delivered' })) === 7,
    )
    expect(calls('leaseDueDeliveries')).toBe(leasesBefore)
    expect(new Set(target.received.map((r) => r.id))).toEqual(new Set(outbox.map((d) => d.id)))
    for (const request of target.received)
      expect(() => verifySignature(secret, request)).not.toThrow()
    const [first] = await store.listDeliveries({ limit: 1 })
    expect(first).toMatchObject({ status: 'delivered', attempts: 1, lastStatus: 200 })
  })

  it('does not count a claim whose turn was never written against the lane for ever', async () => {
    const store = openStore()
    await store.putWebhook({ name: 'crm', url: 'http://127.0.0.1:9/hook', timeoutMs: 1_000 })
    const worker = start(store)
    await waitFor('claims open', () => worker.claim('crm') !== null)
    // Claimed, then the turn's write failed (a conflict): never adopted.
    while (worker.claim('crm') !== null) {}
    worker.wake()
    await waitFor('claims open again', () => worker.claim('crm') !== null)
  })

  it('takes deliveries stored due (another process, or before it started)', async () => {
    const store = openStore()
    const target = await receiver(ok)
    await store.putWebhook({ name: 'crm', url: target.url, timeoutMs: 2_000 })
    for (let i = 0; i < 30; i++) await store.recordDelivery(delivery('crm'))
    start(store)
    await waitFor(
      'delivered',
      async () => (await store.countDeliveries({ status: 'delivered' })) === 30,
    )
    expect(target.received).toHaveLength(30)
  })

  it('logs a failing store call and records the attempt once the store answers again', async () => {
    const sqlite = openStore()
    const target = await receiver(ok)
    await sqlite.putWebhook({ name: 'crm', url: target.url, timeoutMs: 2_000 })
    let failures = 1
    const { store } = counting(sqlite, {
      completeAttempts: (completions) => {
        if (failures-- > 0) return Promise.reject(new Error('disk I/O error'))
        return sqlite.completeAttempts(completions)
      },
    })
    const worker = start(store)
    await sqlite.recordDelivery(delivery('crm'))
    worker.wake()
    await waitFor(
      'delivered',
      async () => (await sqlite.countDeliveries({ status: 'delivered' })) === 1,
    )
    expect(worker.logs.events('delivery.store_error')[0]?.fields.error).toBe('disk I/O error')
  })

  it('starts a thread that died again, which sends what was queued meanwhile', async () => {
    const store = openStore()
    const target = await receiver(ok)
    await store.putWebhook({ name: 'crm', url: target.url, timeoutMs: 1_000 })
    const threads: Worker[] = []
    const worker = start(store, {
      onThread: (thread) => {
        threads.push(thread)
        // The second dies before it reports in: the next one waits twice as long.
        if (threads.length === 2) void thread.terminate()
      },
    })
    await waitFor('claims open', () => worker.claim('crm') !== null)
    await threads[0]!.terminate()
    // No thread, no claims: stored due, for the next thread to take.
    const orphans = await queue(store, worker, 2)
    expect(orphans.some((d) => d.lease)).toBe(false)
    await store.recordDelivery(delivery('crm'))
    await waitFor('restarted twice', () => threads.length === 3, 8_000)
    const crashes = worker.logs.events('delivery.worker_crashed')
    expect(crashes.map((line) => line.fields.restartInMs)).toEqual([1_000, 2_000])
    await waitFor(
      'all delivered',
      async () => (await store.countDeliveries({ status: 'delivered' })) === orphans.length + 1,
      15_000,
    )
    expect(target.received).toHaveLength(3)
  }, 20_000)

  it('stop gives back the leases of what waits and ends the thread', async () => {
    const store = openStore()
    const stuck = await receiver(() => {}) // never answers
    await store.putWebhook({ name: 'stuck', url: stuck.url, timeoutMs: 1_000 })
    const threads: Worker[] = []
    const worker = start(store, { concurrency: 1, onThread: (thread) => threads.push(thread) })
    await waitFor('claims open', () => worker.claim('stuck') !== null)
    const [first, ...waiting] = await queue(store, worker, 4, 'stuck')
    await waitFor('one in flight', () => stuck.received.length === 1)
    const exited = new Promise((resolve) => threads[0]!.once('exit', resolve))
    await worker.stop()
    await exited
    for (const d of waiting) expect((await store.getDelivery(d.id))?.leaseOwner).toBeNull()
    expect((await store.getDelivery(first!.id))?.attempts).toBe(1)
    expect(worker.claim('stuck')).toBeNull()
  })

  it('runs the thread at a higher nice value than the chat thread (Linux: per-thread priorities)', async () => {
    const niceOfTasks = () =>
      readdirSync('/proc/self/task').map((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
      })
    const niced = () => niceOfTasks().filter((nice) => nice === DELIVERY_THREAD_NICE).length
    const before = niced()
    const worker = start(openStore())
    await waitFor('a thread at the delivery nice value', () => niced() === before + 1)
    expect(getPriority()).toBe(0) // this thread, and the process, keep theirs
    await worker.stop()
    await waitFor('the thread gone', () => niced() === before)
  })
})
