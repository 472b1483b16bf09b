import { NAME_PATTERN } from '@joon/core'

/**
 * The bot as the builder edits it: the parsed JSON itself, never a typed copy, so every change
 * keeps the key order and the fields the builder does not know (the JSON tab shows exactly
 * what was there, plus the change). Every function here is pure: it returns a new document
 * and shares what it did not change, which is what undo and Preact's memoisation rely on.
 */
export type Json = null | boolean | number | string | Json[] | JsonObject
export interface JsonObject {
  [key: string]: Json
}

export interface BotDoc extends JsonObject {}
export interface BlockDoc extends JsonObject {}

export type BlockType = 'text' | 'question' | 'buttons' | 'webhook' | 'condition' | 'ai'
export const BLOCK_TYPES: readonly BlockType[] = [
  'text',
  'question',
  'buttons',
  'webhook',
  'condition',
  'ai',
]

/** The JSON types an `ai` block's collected value may have. */
export const COLLECT_TYPES = ['string', 'number', 'boolean'] as const
/** Most values one `ai` block collects (the schema's limit). */
export const MAX_COLLECT = 20

/** Where a link starts: a block's `next`, `else` or `onError`, or one choice's or rule's. */
export type LinkSource = 'next' | 'else' | 'onError' | `choice-${number}` | `rule-${number}`

export interface Link {
  from: string
  source: LinkSource
  to: string
  /** What the arrow says: the choice's label, the rule, "otherwise", "on error". */
  label?: string
}

export interface Position {
  x: number
  y: number
}

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export const str = (value: unknown): string => (typeof value === 'string' ? value : '')

export function blocksOf(doc: BotDoc): BlockDoc[] {
  return Array.isArray(doc.blocks) ? (doc.blocks.filter(isObject) as BlockDoc[]) : []
}

export function blockIds(doc: BotDoc): string[] {
  return blocksOf(doc)
    .map((block) => str(block.id))
    .filter((id) => id !== '')
}

export function findBlock(doc: BotDoc, id: string): BlockDoc | undefined {
  return blocksOf(doc).find((block) => block.id === id)
}

const OPERATOR_WORDS: Record<string, string> = {
  equals: '=',
  not_equals: '≠',
  contains: 'contains',
  gt: '>',
  lt: '<',
  is_set: 'is set',
  is_not_set: 'is not set',
}

/** A rule as a reader says it: `plan = pro`, `email is set`. */
export function describeRule(rule: JsonObject): string {
  const op = str(rule.op)
  const words = OPERATOR_WORDS[op] ?? op
  const variable = str(rule.variable) || '?'
  if (op === 'is_set' || op === 'is_not_set') return `${variable} ${words}`
  const value = rule.value === undefined ? '' : ` ${JSON.stringify(rule.value)}`
  return `${variable} ${words}${value}`
}

/** Every link that leaves `block`, in the order its fields come. */
export function linksOf(block: BlockDoc): Link[] {
  const from = str(block.id)
  const links: Link[] = []
  if (Array.isArray(block.choices)) {
    block.choices.forEach((choice, index) => {
      if (isObject(choice) && typeof choice.next === 'string') {
        links.push({ from, source: `choice-${index}`, to: choice.next, label: str(choice.label) })
      }
    })
  }
  if (Array.isArray(block.rules)) {
    block.rules.forEach((rule, index) => {
      if (isObject(rule) && typeof rule.next === 'string') {
        links.push({ from, source: `rule-${index}`, to: rule.next, label: describeRule(rule) })
      }
    })
  }
  if (typeof block.next === 'string') links.push({ from, source: 'next', to: block.next })
  if (typeof block.else === 'string') {
    links.push({ from, source: 'else', to: block.else, label: 'otherwise' })
  }
  if (typeof block.onError === 'string') {
    links.push({ from, source: 'onError', to: block.onError, label: 'on error' })
  }
  return links
}

export function allLinks(doc: BotDoc): Link[] {
  return blocksOf(doc).flatMap(linksOf)
}

/** The link sources a block offers, whether set or not (the node's handles). */
export function sourcesOf(block: BlockDoc): LinkSource[] {
  switch (block.type) {
    case 'buttons': {
      const choices = Array.isArray(block.choices) ? block.choices : []
      return [...choices.map((_, index): LinkSource => `choice-${index}`), 'next']
    }
    case 'condition': {
      const rules = Array.isArray(block.rules) ? block.rules : []
      return [...rules.map((_, index): LinkSource => `rule-${index}`), 'else']
    }
    case 'webhook':
    case 'ai':
      return ['next', 'onError']
    default:
      return ['next']
  }
}

// ---------------------------------------------------------------------------------------------
// Changes. Each keeps the order of existing keys; a new key goes last.

/** `object` with `key` set (or removed, for `undefined`), in place of the old value. */
export function withKey<T extends JsonObject>(object: T, key: string, value: Json | undefined): T {
  if (value === undefined) {
    if (!(key in object)) return object
    const { [key]: _removed, ...rest } = object
    return rest as T
  }
  if (object[key] === value) return object
  return { ...object, [key]: value }
}

export function updateBlock(
  doc: BotDoc,
  id: string,
  change: (block: BlockDoc) => BlockDoc,
): BotDoc {
  if (!Array.isArray(doc.blocks)) return doc
  let changed = false
  const blocks = doc.blocks.map((block) => {
    if (!isObject(block) || block.id !== id) return block
    const next = change(block as BlockDoc)
    if (next !== block) changed = true
    return next
  })
  return changed ? { ...doc, blocks } : doc
}

function withListItem(
  block: BlockDoc,
  list: 'choices' | 'rules',
  index: number,
  change: (item: JsonObject) => JsonObject,
): BlockDoc {
  const items = block[list]
  if (!Array.isArray(items) || !isObject(items[index])) return block
  const next = change(items[index])
  if (next === items[index]) return block
  return { ...block, [list]: items.map((item, at) => (at === index ? next : item)) }
}

/** Points `source` of block `from` at `to`, or unlinks it (`null`). */
export function setLink(doc: BotDoc, from: string, source: LinkSource, to: string | null): BotDoc {
  const target = to ?? undefined
  return updateBlock(doc, from, (block) => {
    const item = /^(choice|rule)-(\d+)$/.exec(source)
    if (item) {
      const list = item[1] === 'choice' ? 'choices' : 'rules'
      return withListItem(block, list, Number(item[2]), (entry) => withKey(entry, 'next', target))
    }
    return withKey(block, source, target)
  })
}

/** Renames a block and every link, the start and the layout entry that name it. */
export function renameBlock(doc: BotDoc, from: string, to: string): BotDoc {
  if (from === to || !findBlock(doc, from)) return doc
  const rename = (value: Json | undefined) => (value === from ? to : value)
  const retarget = (item: Json): Json =>
    isObject(item) && item.next === from ? { ...item, next: to } : item
  const blocks = blocksOf(doc).map((block) => {
    let next: BlockDoc = block.id === from ? { ...block, id: to } : block
    for (const key of ['next', 'else', 'onError'] as const) {
      if (next[key] === from) next = withKey(next, key, rename(next[key]))
    }
    for (const list of ['choices', 'rules'] as const) {
      const items = next[list]
      if (Array.isArray(items) && items.some((item) => isObject(item) && item.next === from)) {
        next = { ...next, [list]: items.map(retarget) }
      }
    }
    return next
  })
  let result: BotDoc = { ...doc, blocks }
  if (result.start === from) result = { ...result, start: to }
  if (isObject(result.layout) && from in result.layout) {
    const layout: JsonObject = {}
    for (const [key, value] of Object.entries(result.layout))
      layout[key === from ? to : key] = value
    result = { ...result, layout }
  }
  return result
}

/** Removes a block, every link to it and its layout entry; the start moves on if it was it. */
export function deleteBlock(doc: BotDoc, id: string): BotDoc {
  const removed = findBlock(doc, id)
  if (!removed) return doc
  const unlink = (item: Json): Json =>
    isObject(item) && item.next === id ? withKey(item, 'next', undefined) : item
  const blocks = blocksOf(doc)
    .filter((block) => block.id !== id)
    .map((block) => {
      let next = block
      for (const key of ['next', 'else', 'onError'] as const) {
        if (next[key] === id) next = withKey(next, key, undefined)
      }
      for (const list of ['choices', 'rules'] as const) {
        const items = next[list]
        if (Array.isArray(items) && items.some((item) => isObject(item) && item.next === id)) {
          next = { ...next, [list]: items.map(unlink) }
        }
      }
      return next
    })
  let result: BotDoc = { ...doc, blocks }
  if (result.start === id) {
    const after = typeof removed.next === 'string' && removed.next !== id ? removed.next : undefined
    result = { ...result, start: after ?? str(blocks[0]?.id) }
  }
  if (isObject(result.layout) && id in result.layout) {
    result = { ...result, layout: withKey(result.layout, id, undefined) }
  }
  return result
}

/**
 * Fresh ids say what a block does, without repeating a settings field's label ("Webhook"), so
 * a node's name never matches a field looked up by its label.
 */
const ID_STEMS: Record<string, string> = { webhook: 'api-call' }

/** A fresh, valid block id for a new block of `type`: `question-1`, `question-2`… */
export function freshId(doc: BotDoc, type: string): string {
  const taken = new Set(blockIds(doc))
  const stem = ID_STEMS[type] ?? type
  for (let n = 1; ; n++) {
    const id = `${stem}-${n}`
    if (!taken.has(id)) return id
  }
}

/** What `addBlock` may fill a new block with: the first registered webhook or model. */
export interface Registered {
  webhooks: readonly string[]
  models?: readonly string[] | null
}

export function newBlock(type: BlockType, id: string, registered: Registered): BlockDoc {
  switch (type) {
    case 'text':
      return { id, type, text: 'New message' }
    case 'question':
      return { id, type, text: 'Your question?', answer: 'text' }
    case 'buttons':
      return { id, type, text: 'Pick one:', choices: [{ label: 'Yes' }, { label: 'No' }] }
    case 'webhook':
      return { id, type, webhook: registered.webhooks[0] ?? '', async: true }
    case 'condition':
      return { id, type, rules: [] }
    case 'ai':
      return {
        id,
        type,
        model: registered.models?.[0] ?? '',
        instructions: "You answer visitors' questions about our business, briefly and kindly.",
      }
  }
}

/**
 * Adds a block of `type` at `position`. The first block of a bot becomes its start; a block
 * added while `after` is selected (and goes nowhere yet) follows it.
 */
export function addBlock(
  doc: BotDoc,
  type: BlockType,
  options: Registered & { position?: Position; after?: string | null },
): { doc: BotDoc; id: string } {
  const id = freshId(doc, type)
  const blocks = [...blocksOf(doc), newBlock(type, id, options)]
  let result: BotDoc = { ...doc, blocks }
  if (blocks.length === 1 || !findBlock(doc, str(doc.start))) result = { ...result, start: id }
  const after = options.after ? findBlock(doc, options.after) : undefined
  if (after && after.type !== 'condition' && after.next === undefined) {
    result = setLink(result, options.after as string, 'next', id)
  }
  if (options.position) result = setPosition(result, id, options.position)
  return { doc: result, id }
}

export function positionsOf(doc: BotDoc): Map<string, Position> {
  const positions = new Map<string, Position>()
  if (!isObject(doc.layout)) return positions
  for (const [id, value] of Object.entries(doc.layout)) {
    if (isObject(value) && typeof value.x === 'number' && typeof value.y === 'number') {
      positions.set(id, { x: value.x, y: value.y })
    }
  }
  return positions
}

const round = (value: number) => Math.round(value)

export function setPosition(doc: BotDoc, id: string, position: Position): BotDoc {
  return setPositions(doc, new Map([[id, position]]))
}

/** Writes positions into `layout` (created last in the bot when missing), rounded to pixels. */
export function setPositions(doc: BotDoc, positions: ReadonlyMap<string, Position>): BotDoc {
  const layout: JsonObject = isObject(doc.layout) ? { ...doc.layout } : {}
  for (const [id, { x, y }] of positions) layout[id] = { x: round(x), y: round(y) }
  return { ...doc, layout }
}

/**
 * `doc` with a layout entry for every block, taking the missing ones from `positions` (the
 * automatic layout): done on the first move, so no other block jumps when one is placed.
 */
export function withFullLayout(doc: BotDoc, positions: ReadonlyMap<string, Position>): BotDoc {
  const known = positionsOf(doc)
  const missing = new Map<string, Position>()
  for (const [id, position] of positions) if (!known.has(id)) missing.set(id, position)
  return missing.size === 0 ? doc : setPositions(doc, missing)
}

export function isValidId(id: string): boolean {
  return NAME_PATTERN.test(id)
}

/**
 * Variable names the bot already uses: saved answers, values an AI block collects and condition
 * variables, first seen first.
 */
export function variablesOf(doc: BotDoc): string[] {
  const names = new Set<string>()
  for (const block of blocksOf(doc)) {
    if (typeof block.saveAnswerTo === 'string' && block.saveAnswerTo) names.add(block.saveAnswerTo)
    if (isObject(block.collect)) {
      for (const name of Object.keys(block.collect)) if (name) names.add(name)
    }
    if (Array.isArray(block.rules)) {
      for (const rule of block.rules) {
        if (isObject(rule) && typeof rule.variable === 'string' && rule.variable) {
          names.add(rule.variable)
        }
      }
    }
  }
  return [...names]
}

/** Blocks in flow order: from the start, following links breadth-first, then the unreachable. */
export function flowOrder(doc: BotDoc): string[] {
  const ids = blockIds(doc)
  const byId = new Map(blocksOf(doc).map((block) => [str(block.id), block]))
  const seen = new Set<string>()
  const order: string[] = []
  const queue: string[] = []
  const visit = (id: string) => {
    if (seen.has(id) || !byId.has(id)) return
    seen.add(id)
    queue.push(id)
  }
  visit(str(doc.start))
  for (const root of [str(doc.start), ...ids]) {
    visit(root)
    while (queue.length > 0) {
      const id = queue.shift() as string
      order.push(id)
      for (const link of linksOf(byId.get(id) as BlockDoc)) visit(link.to)
    }
  }
  return order
}

/** The first words of a block's text, for its node and its accessible name. */
export function summaryOf(block: BlockDoc, words = 8): string {
  if (block.type === 'webhook') {
    const name = str(block.webhook)
    return `${name ? `Calls ${name}` : 'No webhook chosen'}${block.async === true ? ' (asynchronous)' : ''}`
  }
  if (block.type === 'condition') {
    const rules = Array.isArray(block.rules) ? block.rules.length : 0
    return `${rules} rule${rules === 1 ? '' : 's'}`
  }
  const text = str(block.type === 'ai' ? block.instructions : block.text)
    .replace(/\s+/g, ' ')
    .trim()
  const parts = text.split(' ')
  return parts.length > words ? `${parts.slice(0, words).join(' ')}…` : text
}
