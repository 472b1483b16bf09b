import type { Store } from '../store/types.js'

/**
 * `JOON_RETENTION`: conversations not updated for longer than the retention go, with their
 * delivery records (pending ones stay until they finish). A sweep runs at start and then
 * every `min(1 h, retention / 4)`, in batches of `RETENTION_BATCH` with the event loop let go
 * between batches, so chat turns are never held up for more than one small write.
 */

export const RETENTION_BATCH = 50
const HOUR = 3_600_000

export function sweepInterval(retentionMs: number): number {
  return Math.max(1, Math.min(HOUR, Math.floor(retentionMs / 4)))
}

/** One sweep: batch after batch until no stale conversation is left. Returns how many went. */
export async function sweep(store: Store, retentionMs: number, now: () => number) {
  let deleted = 0
  for (;;) {
    const batch = await store.deleteStaleConversations(now() - retentionMs, RETENTION_BATCH)
    deleted += batch
    if (batch < RETENTION_BATCH) return deleted
    await new Promise((resolve) => setTimeout(resolve, 0))
  }
}

export interface RetentionOptions {
  store: Store
  retentionMs: number
  now?: () => number
  log?: (event: string, fields: Record<string, unknown>) => void
}

/** Starts sweeping; the returned function stops it and waits for a sweep under way. */
export function startRetention(options: RetentionOptions): () => Promise<void> {
  const { store, retentionMs } = options
  const now = options.now ?? Date.now
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let running: Promise<void> = Promise.resolve()
  const run = () => {
    running = (async () => {
      try {
        const deleted = await sweep(store, retentionMs, now)
        if (deleted > 0) options.log?.('retention.swept', { deleted })
      } catch (error) {
        options.log?.('retention.failed', { error: String(error) })
      }
      if (!stopped) timer = setTimeout(run, sweepInterval(retentionMs))
    })()
  }
  run()
  return async () => {
    stopped = true
    clearTimeout(timer)
    await running
  }
}
