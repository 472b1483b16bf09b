import type { Block, Bot } from './schema.js'

const indexes = new WeakMap<Bot, ReadonlyMap<string, Block>>()

/**
 * Blocks by id, built once per bot object and cached, so a step never scans the bot. Treat a
 * bot as immutable once it has been stepped: edits to the same object are not seen.
 */
export function blockIndex(bot: Bot): ReadonlyMap<string, Block> {
  let index = indexes.get(bot)
  if (!index) {
    const byId = new Map<string, Block>()
    // The first block wins, like validateBot's duplicate check assumes.
    for (const block of bot.blocks) if (!byId.has(block.id)) byId.set(block.id, block)
    index = byId
    indexes.set(bot, index)
  }
  return index
}
