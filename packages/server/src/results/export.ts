import { type Bot, type ConversationState, transcriptOf } from '@joon/core'
import type { ConversationQuery, ConversationRecord, Store } from '../store/types.js'

/**
 * A bot's results as CSV or NDJSON, streamed page by page from the store: memory stays flat
 * whatever the count (a page of conversations and one encoded chunk at a time), and the
 * stream reads the next page only when the client took the last one (`pull`).
 */

export type ExportFormat = 'csv' | 'ndjson'

/** Conversations read per store call while exporting. */
const EXPORT_PAGE = 500

/** The fixed columns, in order, before the variables; `transcript` comes last. */
const FIXED = ['conversationId', 'startedAt', 'updatedAt', 'ended'] as const

/** The variables the bot saves (question and buttons `saveAnswerTo`), in block order. */
export function savedVariables(bot: Bot | null): string[] {
  const names: string[] = []
  for (const block of bot?.blocks ?? []) {
    const name = 'saveAnswerTo' in block ? block.saveAnswerTo : undefined
    if (name !== undefined && !names.includes(name)) names.push(name)
  }
  return names
}

/**
 * A CSV cell: RFC 4180 quoting (cells holding a comma, quote, CR or LF are quoted, quotes
 * doubled), and text a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
 * tab or CR, OWASP's list) neutralised by a leading apostrophe, which spreadsheets show as
 * text and do not display.
 */
export function csvCell(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}

/** A variable's value as a cell: text as is, anything else as JSON. */
function valueText(value: unknown): string {
  if (value === undefined) return ''
  return typeof value === 'string' ? value : JSON.stringify(value)
}

function variablesOf(state: ConversationState): Map<string, unknown> {
  return new Map(state.context)
}

const iso = (ms: number) => new Date(ms).toISOString()

/** One NDJSON line: the CSV's fields, variables as an object in first-set order. */
function ndjsonLine(record: ConversationRecord): string {
  const variables: Record<string, unknown> = Object.create(null)
  for (const [name, value] of record.state.context) variables[name] = value
  return `${JSON.stringify({
    conversationId: record.id,
    botId: record.botId,
    startedAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
    ended: record.state.ended,
    variables,
    messages: record.state.messages.length,
    transcript: transcriptOf(record.state),
  })}\n`
}

function csvRow(record: ConversationRecord, variables: readonly string[]): string {
  const values = variablesOf(record.state)
  const cells = [
    record.id,
    iso(record.createdAt),
    iso(record.updatedAt),
    String(record.state.ended),
    ...variables.map((name) => valueText(values.get(name))),
    transcriptOf(record.state),
  ]
  return `${cells.map(csvCell).join(',')}\r\n`
}

/** Every page of a query, one store call at a time. */
async function* pages(store: Store, query: Omit<ConversationQuery, 'limit' | 'after'>) {
  let after: ConversationQuery['after']
  for (;;) {
    const page = await store.listConversations({
      ...query,
      limit: EXPORT_PAGE,
      ...(after ? { after } : {}),
    })
    yield page.conversations
    if (!page.next) return
    after = page.next
  }
}

/**
 * The CSV header's variables: the bot's saved ones in block order, then any other in the
 * order first seen (newest conversation first), found by a first pass over the pages.
 */
async function csvVariables(
  store: Store,
  bot: Bot | null,
  query: Omit<ConversationQuery, 'limit' | 'after'>,
): Promise<string[]> {
  const names = savedVariables(bot)
  const seen = new Set(names)
  for await (const page of pages(store, query)) {
    for (const record of page) {
      for (const [name] of record.state.context) {
        if (!seen.has(name)) {
          seen.add(name)
          names.push(name)
        }
      }
    }
  }
  return names
}

/** The export as a byte stream. */
export function exportStream(
  store: Store,
  bot: Bot | null,
  format: ExportFormat,
  query: Omit<ConversationQuery, 'limit' | 'after'>,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let iterator: AsyncGenerator<ConversationRecord[]> | undefined
  let variables: string[] = []
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!iterator) {
        iterator = pages(store, query)
        if (format === 'csv') {
          variables = await csvVariables(store, bot, query)
          const header = [...FIXED, ...variables, 'transcript'].map(csvCell).join(',')
          controller.enqueue(encoder.encode(`${header}\r\n`))
          return
        }
      }
      const next = await iterator.next()
      if (next.done) {
        controller.close()
        return
      }
      const text =
        format === 'csv'
          ? next.value.map((record) => csvRow(record, variables)).join('')
          : next.value.map(ndjsonLine).join('')
      if (text) controller.enqueue(encoder.encode(text))
    },
    async cancel() {
      await iterator?.return(undefined)
    },
  })
}
