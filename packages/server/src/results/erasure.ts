import type { JsonValue } from '@joon/core'
import type { Store } from '../store/types.js'

/**
 * The right to erasure: every conversation (of every bot) whose variable `variable` equals
 * `value` goes, with its deliveries, and so do delivery records retention left behind whose
 * payload holds that value. Text compares case-insensitively (after trimming the request's
 * value); numbers and booleans by value, also when asked for as text ("42" finds 42).
 */

export type ErasureValue = string | number | boolean

export function holdsValue(stored: JsonValue | undefined, value: ErasureValue): boolean {
  if (stored === undefined || stored === null) return false
  const wanted = typeof value === 'string' ? value.trim().toLowerCase() : JSON.stringify(value)
  if (typeof stored === 'string') return stored.trim().toLowerCase() === wanted
  if (typeof stored === 'number' || typeof stored === 'boolean') {
    return JSON.stringify(stored) === wanted
  }
  return false
}

/** The conversation ids to erase, found through the listing's search (its prefilter). */
async function matchingConversations(
  store: Store,
  variable: string,
  value: ErasureValue,
): Promise<string[]> {
  const ids: string[] = []
  const q = typeof value === 'string' ? value.trim() : JSON.stringify(value)
  let after: { createdAt: number; id: string } | undefined
  for (;;) {
    const page = await store.listConversations({ q, limit: 1000, ...(after ? { after } : {}) })
    for (const record of page.conversations) {
      const stored = record.state.context.find(([name]) => name === variable)?.[1]
      if (holdsValue(stored, value)) ids.push(record.id)
    }
    if (!page.next) return ids
    after = page.next
  }
}

/** Retained delivery records (their conversation is gone) whose payload holds the value. */
async function matchingRetained(
  store: Store,
  variable: string,
  value: ErasureValue,
): Promise<string[]> {
  const ids: string[] = []
  for (const delivery of await store.listRetainedDeliveries()) {
    let payload: unknown
    try {
      payload = JSON.parse(delivery.body)
    } catch {
      continue
    }
    if (typeof payload !== 'object' || payload === null || !Object.hasOwn(payload, variable)) {
      continue
    }
    if (holdsValue((payload as Record<string, JsonValue>)[variable], value)) ids.push(delivery.id)
  }
  return ids
}

/** How many conversations an erasure takes (and, unless `dryRun`, takes them). */
export async function erase(
  store: Store,
  request: { variable: string; value: ErasureValue; dryRun?: boolean },
): Promise<number> {
  const ids = await matchingConversations(store, request.variable, request.value)
  if (request.dryRun) return ids.length
  let erased = 0
  for (const id of ids) if (await store.deleteConversation(id)) erased++
  const retained = await matchingRetained(store, request.variable, request.value)
  if (retained.length > 0) await store.deleteDeliveries(retained)
  return erased
}
