import type { Bot } from '@joon/core'
import type { BotSource, BotVersionInfo } from './types.js'

/** What the stores share about bots: parsed versions, their SQL rows, and their order. */

/** A bot version row of the SQL stores, without its data. */
export interface BotVersionRow {
  version: number
  saved_at: number
  source: BotSource
  file: string | null
  blocks: number
}

export const LIST_BOTS = `SELECT b.id, b.version, v.data FROM bots b
  JOIN bot_versions v ON v.bot_id = b.id AND v.version = b.version
  ORDER BY b.id`

export function toVersionInfo(row: BotVersionRow): BotVersionInfo {
  return {
    version: row.version,
    savedAt: row.saved_at,
    source: row.source,
    file: row.file,
    blocks: row.blocks,
  }
}

/** Plain code-unit order, the same as SQLite's BINARY collation and PostgreSQL's "C". */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Bot versions parsed once and reused while hot: versions are immutable (a number is never
 * reused for another content, not even after a delete), so a turn costs no JSON.parse of its
 * bot, and the interpreter's block index (cached per bot object) is reused. Least recently
 * used versions are dropped past `maxEntries`, so memory stays bounded however many versions
 * live conversations run on. The objects are shared, so they are deep-frozen: nobody can
 * change what another caller sees.
 */
export class ParsedBots {
  /** Keyed by `version:id`; a Map iterates in insertion order, oldest use first. */
  readonly #entries = new Map<string, Bot>()

  constructor(private readonly maxEntries = 256) {}

  /** The cached bot, now the most recently used; undefined when not cached. */
  get(id: string, version: number): Bot | undefined {
    const key = `${version}:${id}`
    const bot = this.#entries.get(key)
    if (bot !== undefined) {
      this.#entries.delete(key)
      this.#entries.set(key, bot)
    }
    return bot
  }

  /** The cached bot, or `text` parsed, frozen and cached. */
  parse(id: string, version: number, text: string): Bot {
    const cached = this.get(id, version)
    if (cached) return cached
    const bot = deepFreeze(JSON.parse(text) as Bot)
    this.#entries.set(`${version}:${id}`, bot)
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
    return bot
  }

  /** Drops every version of a bot (deleted). */
  delete(id: string): void {
    for (const key of this.#entries.keys()) {
      if (key.slice(key.indexOf(':') + 1) === id) this.#entries.delete(key)
    }
  }

  get size(): number {
    return this.#entries.size
  }
}

/** Version numbers a client may send that no stored version can have. */
export function isVersionNumber(version: number): boolean {
  // PostgreSQL's integer: past it a lookup would be an error, not "not found".
  return Number.isInteger(version) && version > 0 && version <= 2_147_483_647
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
