import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { NewDelivery, Store } from '../store/types.js'
import type { WebhookSenderOptions } from './send.js'
import type { ClaimSnapshot, DeliveryLog, DeliveryWorker } from './worker.js'

/**
 * The delivery worker on a worker thread, for the Node server. The thread runs the worker and
 * the guarded sender (signing, undici, sockets, replies, retry decisions), so a busy server's
 * chat thread only writes the outbox and records outcomes; and the worker's own event loop is
 * never held up behind chat requests, so it keeps up with what they queue.
 *
 * The store stays on this thread: the thread calls it by message (`call`), and the calls join
 * this thread's writes (on SQLite, its group commit and its one connection, whose page
 * cache a second connection's writes would keep throwing away). `claim` answers from the
 * latest `ClaimSnapshot` the thread sent, minus what was claimed since.
 *
 * Messages travel in batches, one per turn of either event loop. If the thread dies it is
 * logged and started again after a second (up to a minute while it keeps dying); what it held
 * leased is taken again when the leases run out (at least once, as after a crash).
 */
export interface ThreadedWorkerOptions {
  store: Store
  owner: string
  sender: Omit<WebhookSenderOptions, 'resolve' | 'now'>
  schedule?: readonly number[]
  concurrency?: number
  /**
   * The thread's nice value where the OS lets a thread have its own (Linux), default
   * `DELIVERY_THREAD_NICE`; never raised above the process's own priority.
   */
  nice?: number
  log: DeliveryLog
  /** Called with each thread started (tests end one to see it replaced). */
  onThread?: (thread: Worker) => void
}

/** What the thread is started with (`workerData`). */
export interface ThreadSetup
  extends Pick<ThreadedWorkerOptions, 'owner' | 'sender' | 'schedule' | 'concurrency'> {
  nice: number
  /** Which optional `Store` methods the real store has. */
  storeHas: { completeAttempts: boolean; releaseLeases: boolean }
}

/** The `Store` methods the worker uses, the only ones the thread may call. */
export const WORKER_STORE_METHODS = [
  'getWebhook',
  'listWebhooks',
  'leaseDueDeliveries',
  'completeAttempt',
  'completeAttempts',
  'releaseLeases',
  'nextDueAt',
] as const
export type WorkerStoreMethod = (typeof WORKER_STORE_METHODS)[number]

/** Thread → this thread. */
export type FromThread =
  | { type: 'call'; id: number; method: WorkerStoreMethod; args: unknown[] }
  | { type: 'log'; event: string; fields: Record<string, unknown> }
  /** `seen`: the last batch from this thread taken into account (its adoptions included). */
  | { type: 'claims'; snapshot: ClaimSnapshot; seen: number }
  | { type: 'stopped' }

/** This thread → thread, in numbered batches. */
export interface ToThreadBatch {
  seq: number
  messages: ToThread[]
}

export type ToThread =
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; message: string }
  | { type: 'adopt'; deliveries: NewDelivery[] }
  | { type: 'wake' }
  | { type: 'stop' }

/**
 * Deliveries are background work: when the chat thread and the delivery thread both want a
 * core, the scheduler should run the chat first. At nice 5 the thread weighs a third of the
 * chat thread; it still gets whole cores that nobody else wants. Measured with the lead-shape
 * benchmark: without it, every wake-up of the thread (a message, a reply) tended to land on the
 * chat thread's core and preempt it, which then spent 21-23% of the run runnable but waiting
 * (/proc schedstat); 15-19% at nice 5, 13-16% at nice 10. Nice 10 starved deliveries when other
 * processes kept both cores busy (an end-to-end retry took over 5 s beside two busy loops), nice
 * 5 did not.
 */
export const DELIVERY_THREAD_NICE = 5

/** A thread that dies is started again after 1 s, then 2, 4… up to a minute while it keeps dying. */
const RESTART_DELAY_MS = 1_000
const MAX_RESTART_DELAY_MS = 60_000

export function startThreadedDeliveryWorker(options: ThreadedWorkerOptions): DeliveryWorker {
  const { store, log } = options
  const setup: ThreadSetup = {
    owner: options.owner,
    sender: options.sender,
    ...(options.schedule ? { schedule: options.schedule } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    nice: options.nice ?? DELIVERY_THREAD_NICE,
    storeHas: {
      completeAttempts: typeof store.completeAttempts === 'function',
      releaseLeases: typeof store.releaseLeases === 'function',
    },
  }
  let thread: Worker | undefined
  let queued: ToThread[] = []
  let stopping: Promise<void> | undefined
  let restartTimer: NodeJS.Timeout | undefined
  /** Deaths since a thread last reported in. */
  let deaths = 0
  // Claims: the thread's latest snapshot, and what was claimed that it had not seen yet (by
  // batch: a claim whose turn failed to write is never adopted, and must not count forever).
  let snapshot: ClaimSnapshot | null = null
  let room = new Map<string, number>()
  let seq = 0
  let claimedNow = new Map<string, number>()
  let unseen: { seq: number; claimed: Map<string, number> }[] = []

  function post(message: ToThread) {
    if (!thread) return
    if (queued.length === 0) setImmediate(flush)
    queued.push(message)
  }

  function flush() {
    const messages = queued
    queued = []
    if (messages.length === 0 || !thread) return
    seq++
    if (claimedNow.size > 0) unseen.push({ seq, claimed: claimedNow })
    claimedNow = new Map()
    try {
      thread.postMessage({ seq, messages } satisfies ToThreadBatch)
    } catch (error) {
      // Only data the store returned travels; a store handing back something uncloneable is
      // a bug, and what was lost here comes back when its lease runs out.
      log('delivery.worker_error', { error: String(error), messages: messages.length })
    }
  }

  function inTransit(webhook: string): number {
    let count = claimedNow.get(webhook) ?? 0
    for (const batch of unseen) count += batch.claimed.get(webhook) ?? 0
    return count
  }

  function start() {
    // Not the process's flags: a test runner's `--conditions source` would have the thread load
    // TypeScript sources it cannot run.
    const started = new Worker(fileURLToPath(threadEntry()), { workerData: setup, execArgv: [] })
    // Like the in-process worker's timers: the server keeps the process alive, not this.
    started.unref()
    thread = started
    options.onThread?.(started)
    started.on('message', (messages: FromThread[]) => {
      for (const message of messages) receive(message)
    })
    let failure: unknown
    started.on('error', (error) => {
      failure = error
    })
    started.on('exit', (code) => {
      if (thread !== started) return
      thread = undefined
      snapshot = null
      queued = []
      claimedNow = new Map()
      unseen = []
      if (stopping) return
      const delay = Math.min(MAX_RESTART_DELAY_MS, RESTART_DELAY_MS * 2 ** deaths++)
      log('delivery.worker_crashed', {
        exitCode: code,
        ...(failure === undefined ? {} : { error: String(failure) }),
        restartInMs: delay,
      })
      restartTimer = setTimeout(start, delay)
      restartTimer.unref()
    })
  }

  function receive(message: FromThread) {
    switch (message.type) {
      case 'call':
        return void call(message)
      case 'log':
        return log(message.event, message.fields)
      case 'claims':
        deaths = 0
        snapshot = message.snapshot
        room = new Map(message.snapshot.room)
        unseen = unseen.filter((batch) => batch.seq > message.seen)
        return
      case 'stopped':
        snapshot = null
        return
    }
  }

  async function call({
    id,
    method,
    args,
  }: {
    id: number
    method: WorkerStoreMethod
    args: unknown[]
  }) {
    try {
      if (!WORKER_STORE_METHODS.includes(method)) throw new Error(`not a worker method: ${method}`)
      const fn = store[method] as ((...values: unknown[]) => Promise<unknown>) | undefined
      if (!fn) throw new Error(`this store has no ${method}`)
      post({ type: 'result', id, value: await fn.apply(store, args) })
    } catch (error) {
      post({ type: 'error', id, message: error instanceof Error ? error.message : String(error) })
    }
  }

  start()

  return {
    wake: () => post({ type: 'wake' }),
    claim(webhook) {
      if (!snapshot?.open || stopping) return null
      if (inTransit(webhook) >= (room.get(webhook) ?? snapshot.otherwise)) return null
      claimedNow.set(webhook, (claimedNow.get(webhook) ?? 0) + 1)
      return { owner: snapshot.owner, until: Date.now() + snapshot.leaseMs }
    },
    adopt(deliveries) {
      // Only what the thread claimed travels whole; for the rest, their webhook is news enough.
      post({
        type: 'adopt',
        deliveries: deliveries.map((delivery) =>
          delivery.lease?.owner === setup.owner ? delivery : { ...delivery, body: '' },
        ),
      })
    },
    stop() {
      stopping ??= (async () => {
        clearTimeout(restartTimer)
        const running = thread
        if (!running) return
        const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()))
        running.ref()
        post({ type: 'stop' })
        await exited
      })()
      return stopping
    },
  }
}

/**
 * The thread's script, built beside this file. Tests run the TypeScript source, which a thread
 * cannot load: they use the build of the same file (the test task depends on the build).
 */
function threadEntry(): URL {
  const beside = new URL('./worker-thread-main.js', import.meta.url)
  if (!import.meta.url.endsWith('.ts')) return beside
  const built = new URL(beside.href.replace(/\/src\/delivery\//, '/dist/delivery/'))
  if (!existsSync(built)) throw new Error(`build @joon/server first: ${fileURLToPath(built)}`)
  return built
}
