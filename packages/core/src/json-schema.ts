import * as z from 'zod'
import { Bot } from './schema.js'

/**
 * The JSON Schema of a bot file, as shipped in `@joon/core/bot.schema.json` for editors to
 * validate and autocomplete with (`"$schema": "…/bot.schema.json"`). It describes the file as
 * written (`async` optional), and covers the shape only: references between blocks are
 * checked by `validateBot`.
 */
export function botJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(Bot, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://joon.dev/schemas/bot.schema.json',
    title: 'Joon bot',
  }
}
