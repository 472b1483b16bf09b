import { conflictError } from './deliveries.js'
import { isUniqueViolation, type SqliteDatabase } from './sqlite-driver.js'

interface QueuedWrite {
  fn: () => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/**
 * The SQLite store's transactions: writes that take the write lock up front, reads that see
 * one snapshot, and the group commit that lets a busy server's writes share a transaction.
 * A unique-key violation becomes the store's conflict error.
 */
export class Transactions {
  readonly #db: SqliteDatabase
  /** Writes waiting for this turn of the event loop's group commit. */
  #queued: QueuedWrite[] = []

  constructor(db: SqliteDatabase) {
    this.#db = db
  }

  /** Runs `fn` as one `BEGIN IMMEDIATE` transaction: it takes the write lock up front. */
  write<T>(fn: () => T): T {
    try {
      return this.#db.transaction('immediate', fn)
    } catch (error) {
      if (isUniqueViolation(error)) throw conflictOf(error)
      throw error
    }
  }

  /**
   * Group commit. Under load many requests reach their write in the same turn of the event
   * loop, and a commit (WAL frames, locks) costs several times a small write: they share one
   * transaction, committed once the turn's other work is done (`setImmediate`). Each write
   * runs in its own savepoint, so a unique-key conflict undoes only its own rows and rejects
   * only its own caller. Any other failure, or a failed commit, leaves nothing of the batch
   * written; each write then runs again in a transaction of its own, so one bad write cannot
   * fail the others. Nobody is answered before the commit that holds their write.
   */
  grouped<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queued.push({ fn, resolve: resolve as (value: unknown) => void, reject })
      if (this.#queued.length === 1) setImmediate(() => this.flush())
    })
  }

  flush(): void {
    const batch = this.#queued
    if (batch.length === 0) return
    this.#queued = []
    if (batch.length > 1) {
      const outcomes: { value?: unknown; error?: unknown }[] = []
      try {
        this.write(() => {
          for (const write of batch) {
            try {
              outcomes.push({ value: this.#db.transaction('immediate', write.fn) })
            } catch (error) {
              if (!isUniqueViolation(error)) throw error
              outcomes.push({ error: conflictOf(error) })
            }
          }
        })
      } catch {
        outcomes.length = 0
      }
      if (outcomes.length === batch.length) {
        for (const [i, write] of batch.entries()) {
          const outcome = outcomes[i]!
          if ('error' in outcome) write.reject(outcome.error)
          else write.resolve(outcome.value)
        }
        return
      }
    }
    for (const write of batch) {
      try {
        write.resolve(this.write(write.fn))
      } catch (error) {
        write.reject(error)
      }
    }
  }

  /** Several reads that must see one snapshot. */
  read<T>(fn: () => T): T {
    return this.#db.transaction('deferred', fn)
  }
}

function conflictOf(error: Error) {
  return conflictError(error.message.includes('deliveries') ? 'delivery' : 'conversation')
}
