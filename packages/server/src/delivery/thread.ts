import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads'
import { type Endpoint, expose, type Remote, wrap } from 'comlink'
import type { Observer } from '../metrics/observer.js'
import type { SqliteStoreOptions } from '../store/options.js'
import type { ThreadControl } from './thread-entry.js'
import type { DeliveryLog, DeliveryWorker } from './worker.js'

/**
 * The delivery loop on a thread of its own, for a SQLite store: the same `startDeliveryWorker`,
 * with its own connection to the file. SQLite calls run on the thread that makes them, so on
 * the chat thread every lease and recorded attempt, and every webhook call, took time from
 * the turns. What it buys, `bench/deliveries.mjs` on 2 cores, alternating builds: a lead-gen
 * bot's turns (one async delivery every three answers) run at 0.76-0.81 of the same bot without
 * its webhook block, against 0.62-0.71 with the loop on the chat thread; the chat thread spends
 * 13-35 µs more per turn on deliveries, against 69-115, and 9-29 are left pending, not 300-413.
 *
 * The chat thread keeps writing the outbox with each turn and says "work was queued"
 * (`wake`, at most one message per 10 ms); the thread tells it what it logs and the
 * calls it made (for the metrics). Messages go through comlink. If the thread cannot start or
 * dies, the loop runs on the chat thread instead (`fallback`): nothing queued is left behind.
 */

/** How the thread sets its loop up: what it receives as `workerData`, with its two ports. */
export interface DeliveryThreadSetup {
  file: { path: string; options: SqliteStoreOptions }
  allowPrivate: boolean
  userAgent: string
  owner: string
  schedule?: readonly number[] | undefined
  concurrency?: number | undefined
  alertWebhook?: string | undefined
  /** Where the thread exposes `ThreadControl`, and the chat thread `MainThreadHooks`. */
  control: MessagePort
  hooks: MessagePort
}

export interface DeliveryThreadOptions {
  setup: Omit<DeliveryThreadSetup, 'control' | 'hooks'>
  log: DeliveryLog
  observe?: Pick<Observer, 'webhookCall'>
  /** Starts the loop on this thread, when the thread cannot run. */
  fallback: () => DeliveryWorker
  /** The thread's script. Default: `thread-entry.js`, built (from the sources, in `dist`). */
  entry?: URL | null
}

/** What the thread calls on the chat thread. */
export interface MainThreadHooks {
  log(event: string, fields: Record<string, unknown>): void
  webhookCalls(calls: Parameters<Observer['webhookCall']>[]): void
}

export function startDeliveryThread(options: DeliveryThreadOptions): DeliveryWorker {
  const { log, observe, fallback } = options
  const entry = options.entry === undefined ? builtEntry() : options.entry
  if (!entry) return fallback()
  const [control, hooks] = [new MessageChannel(), new MessageChannel()]
  const ports = { control: control.port2, hooks: hooks.port2 }
  const thread = new Worker(entry, {
    workerData: { ...options.setup, ...ports } satisfies DeliveryThreadSetup,
    transferList: Object.values(ports),
    // Not the process's flags: a test runner's `--conditions source` would load TypeScript.
    execArgv: [],
  })
  const calls: MainThreadHooks = {
    log,
    webhookCalls: (made) => {
      for (const call of made) observe?.webhookCall(...call)
    },
  }
  expose(calls, endpoint(hooks.port1))
  const remote: Remote<ThreadControl> = wrap<ThreadControl>(endpoint(control.port1))
  let stopping = false
  let onChatThread: DeliveryWorker | null = null
  let failure = ''
  thread.on('error', (error) => {
    failure = error.message
  })
  thread.on('exit', (code) => {
    control.port1.close()
    hooks.port1.close()
    if (stopping) return
    const note = 'deliveries are sent from the main thread'
    log('delivery.thread_failed', { error: failure || `exit code ${code}`, note })
    onChatThread = fallback()
  })
  let waking: ReturnType<typeof setTimeout> | undefined
  let wokeAt = Number.NEGATIVE_INFINITY
  const sendWake = () => {
    waking = undefined
    wokeAt = performance.now()
    remote.wake().catch(() => {})
  }
  return {
    wake() {
      if (onChatThread) return onChatThread.wake()
      // At most one message per 10 ms: the loop gathers new work for as long anyway.
      waking ??= setTimeout(sendWake, wokeAt + 10 - performance.now())
    },
    async stop() {
      if (onChatThread) return onChatThread.stop()
      stopping = true
      clearTimeout(waking)
      const exited = new Promise((resolve) => thread.once('exit', resolve))
      // The thread lets its calls in flight finish and gives back the leases it holds.
      await Promise.race([remote.stop(), exited]).finally(() => thread.terminate())
    },
  }
}

/** Node's `MessagePort` is a comlink endpoint; the DOM's types, where a build has them, differ. */
export const endpoint = (port: MessagePort) => port as unknown as Endpoint

function builtEntry(): URL | null {
  const beside = new URL('./thread-entry.js', import.meta.url)
  if (!import.meta.url.endsWith('.ts')) return beside
  const built = new URL(beside.href.replace(/\/src\/delivery\//, '/dist/delivery/'))
  return existsSync(fileURLToPath(built)) ? built : null
}
