import { validateBot } from '@joon/core'
import type { Issue } from '../api.js'
import { type BotDoc, isObject } from './bot-doc.js'

/** The JSON tab's text, read: what it parses to, or where it does not. */
export type ParsedText =
  | { ok: true; doc: BotDoc }
  | { ok: false; message: string; position: number | null }

export function parseBotText(text: string): ParsedText {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const at = /position (\d+)/.exec(message)
    return { ok: false, message: `JSON: ${message}`, position: at ? Number(at[1]) : null }
  }
  if (!isObject(value)) {
    return { ok: false, message: 'JSON: a bot is an object ({ … }).', position: 0 }
  }
  return { ok: true, doc: value as BotDoc }
}

export const botText = (doc: BotDoc) => JSON.stringify(doc, null, 2)

/**
 * Every problem `validateBot` finds, and the same grouped by block for the canvas. Model names
 * are checked only when known (`null`: a server without the models API).
 */
export function checkDoc(
  doc: BotDoc,
  webhooks: readonly string[],
  models: readonly string[] | null = null,
) {
  const result = validateBot(doc, models ? { webhooks, models } : { webhooks })
  const issues: Issue[] = result.ok ? [] : result.issues
  const byBlock = new Map<string, string[]>()
  for (const issue of issues) {
    if (issue.blockId === undefined) continue
    const list = byBlock.get(issue.blockId) ?? []
    // The node already names the block: say only what is wrong.
    list.push(issue.message.replace(/^Block "[^"]*": /, ''))
    byBlock.set(issue.blockId, list)
  }
  return { issues, byBlock }
}

/** Where an issue is in the JSON text: its block's id, else its first field's key. */
export function locateIssue(text: string, issue: Issue): [number, number] {
  const quoted = (value: string) => JSON.stringify(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const patterns: RegExp[] = []
  if (issue.blockId !== undefined)
    patterns.push(new RegExp(`"id"\\s*:\\s*${quoted(issue.blockId)}`))
  const field = issue.path.at(-1)
  if (issue.blockId === undefined && typeof issue.path[0] === 'string') {
    patterns.push(new RegExp(`${quoted(issue.path[0])}\\s*:`))
  } else if (typeof field === 'string') {
    patterns.push(new RegExp(`${quoted(field)}\\s*:`))
  }
  for (const pattern of patterns) {
    const found = pattern.exec(text)
    if (found) return [found.index, found.index + found[0].length]
  }
  return [0, 0]
}
