import type { z } from 'zod'
import { Bot } from './schema.js'
import { MAX_BLOCKS_PER_STEP } from './transition.js'

/** One problem found in a bot, phrased for the person who wrote it. */
export interface BotIssue {
  /** Where in the bot's JSON, e.g. `['blocks', 3, 'next']`. */
  path: (string | number)[]
  /** The block concerned, when there is one and it has an id. */
  blockId?: string
  /** A plain sentence naming the block, e.g. `Block "ask-email": "next" points to …`. */
  message: string
}

export type BotValidation = { ok: true; bot: Bot } | { ok: false; issues: BotIssue[] }

export interface ValidateBotOptions {
  /** Names of the registered webhooks; when given, webhook blocks must use one of them. */
  webhooks?: Iterable<string>
  /** Names of the registered models; when given, ai blocks must use one of them. */
  models?: Iterable<string>
}

/**
 * Checks a bot as loaded from a file or an API call and lists every problem at once (contract
 * §1): the schema (types, required and unknown fields), duplicate block ids, `start`, `next`,
 * `onError`, `else`, choice and rule targets that name no block, unregistered webhooks (when
 * `webhooks` is given), loops that never wait for the user or a synchronous webhook, which
 * would run forever, and chains of more blocks than one turn runs (`MAX_BLOCKS_PER_STEP`).
 */
export function validateBot(input: unknown, options: ValidateBotOptions = {}): BotValidation {
  const parsed = Bot.safeParse(input)
  const raw = readLeniently(input)
  const issues = [
    ...(parsed.success
      ? []
      : parsed.error.issues.flatMap((issue) => schemaIssues(issue, input, raw))),
    ...referenceIssues(raw),
    ...unregisteredIssues(raw, 'webhook', options.webhooks),
    ...unregisteredIssues(raw, 'model', options.models),
    ...runIssues(raw),
  ]
  if (parsed.success && issues.length === 0) return { ok: true, bot: parsed.data }
  // Stable sort: a reader sees the bot's problems first, then each block's in file order.
  issues.sort((a, b) => blockPosition(a.path) - blockPosition(b.path))
  return { ok: false, issues }
}

/** The issues as a list for a terminal or a log, one `- ` line each. */
export function formatBotIssues(issues: readonly BotIssue[]): string {
  return issues.map((issue) => `- ${issue.message}`).join('\n')
}

function blockPosition(path: readonly (string | number)[]): number {
  return path[0] === 'blocks' && typeof path[1] === 'number' ? path[1] : -1
}

// ---------------------------------------------------------------------------------------------
// A lenient reading of the input, so reference and loop checks run even when the schema fails.

interface Target {
  path: (string | number)[]
  /** How the sentence names the field: `"next"`, `choice "Book a demo"`, `rule 2`. */
  name: string
  target: string
}

interface RawBlock {
  position: number
  id: string | undefined
  type: string | undefined
  /** Waits for the user or a synchronous webhook, so a loop through it is fine. */
  waits: boolean
  targets: Target[]
  webhook: string | undefined
  model: string | undefined
}

interface RawBot {
  start: string | undefined
  blocks: RawBlock[]
  /** Raw block entries, to name blocks in schema issues. */
  entries: readonly unknown[]
}

function readLeniently(input: unknown): RawBot {
  const bot = asRecord(input)
  const entries = Array.isArray(bot?.blocks) ? (bot.blocks as unknown[]) : []
  const blocks: RawBlock[] = []
  entries.forEach((entry, position) => {
    const block = asRecord(entry)
    if (!block) return
    const type = asString(block.type)
    const targets: Target[] = []
    const add = (path: (string | number)[], name: string, target: unknown) => {
      if (typeof target === 'string') targets.push({ path, name, target })
    }
    add(['next'], '"next"', block.next)
    if (type === 'webhook' || type === 'ai') add(['onError'], '"onError"', block.onError)
    if (type === 'condition') add(['else'], '"else"', block.else)
    if (Array.isArray(block.choices)) {
      block.choices.forEach((choice: unknown, i) => {
        const record = asRecord(choice)
        const label = asString(record?.label)
        add(['choices', i, 'next'], label ? `choice "${label}"` : `choice ${i + 1}`, record?.next)
      })
    }
    if (Array.isArray(block.rules)) {
      block.rules.forEach((rule: unknown, i) => {
        add(['rules', i, 'next'], `rule ${i + 1}`, asRecord(rule)?.next)
      })
    }
    blocks.push({
      position,
      id: asString(block.id),
      type,
      waits:
        type === 'question' ||
        type === 'buttons' ||
        type === 'ai' ||
        (type === 'webhook' && block.async !== true),
      targets,
      webhook: type === 'webhook' ? asString(block.webhook) : undefined,
      model: type === 'ai' ? asString(block.model) : undefined,
    })
  })
  return { start: asString(bot?.start), blocks, entries }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

// ---------------------------------------------------------------------------------------------
// Schema issues, reworded to name the block and the field.

function schemaIssues(issue: z.core.$ZodIssue, input: unknown, raw: RawBot): BotIssue[] {
  const path = issue.path.filter((key): key is string | number => typeof key !== 'symbol')
  const { subject, blockId, fieldPath } = describePlace(path, raw)
  const make = (message: string, extraPath: (string | number)[] = []): BotIssue => ({
    path: [...path, ...extraPath],
    ...(blockId === undefined ? {} : { blockId }),
    message: `${subject}: ${message}.`,
  })
  const field = fieldPath.length === 0 ? undefined : `field "${formatFieldPath(fieldPath)}"`
  const value = valueAt(input, path)

  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) =>
      make(`unknown field "${formatFieldPath([...fieldPath, key])}"`, [key]),
    )
  }
  if (field === undefined && value !== undefined && asRecord(value) === undefined) {
    return [
      make(
        path.length === 0
          ? 'must be a JSON object'
          : 'must be a JSON object with an "id" and a "type"',
      ),
    ]
  }
  const what = field ?? 'it'
  switch (issue.code) {
    case 'invalid_value':
      return [make(`${what} must be ${oneOf(issue.values.map(String))}`)]
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) {
        const options = (issue as { options?: unknown[] }).options?.map(String) ?? []
        return [
          make(
            `${what} ${value === undefined ? 'is required and' : ''} must be ${oneOf(options)}`.replace(
              '  ',
              ' ',
            ),
          ),
        ]
      }
      return [make(`${what} must be ${alternativesOf(issue.errors)}`)]
    case 'invalid_type':
      if (value === undefined) return [make(`${what} is required`)]
      return [make(`${what} must be ${article(issue.expected)}, not ${describeJson(value)}`)]
    case 'too_small':
      return [make(`${what} ${sizeRule('at least', issue.origin, Number(issue.minimum))}`)]
    case 'too_big':
      return [make(`${what} ${sizeRule('at most', issue.origin, Number(issue.maximum))}`)]
    default:
      // Our own refinements and formats already read as predicates ("is a reserved name").
      return [make(`${what} ${issue.message}`)]
  }
}

function describePlace(
  path: (string | number)[],
  raw: RawBot,
): { subject: string; blockId: string | undefined; fieldPath: (string | number)[] } {
  if (path[0] === 'blocks' && typeof path[1] === 'number') {
    const position = path[1]
    const id = asString(asRecord(raw.entries[position])?.id)
    return {
      subject: blockName(id, position),
      blockId: id === undefined || id === '' ? undefined : id,
      fieldPath: path.slice(2),
    }
  }
  return { subject: 'Bot', blockId: undefined, fieldPath: path }
}

function blockName(id: string | undefined, position: number): string {
  return id === undefined || id === '' ? `Block ${position + 1} (no id)` : `Block "${id}"`
}

function formatFieldPath(path: readonly (string | number)[]): string {
  let text = ''
  for (const key of path)
    text += typeof key === 'number' ? `[${key}]` : text === '' ? key : `.${key}`
  return text
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let value = input
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<string | number, unknown>)[key]
  }
  return value
}

function oneOf(options: readonly string[]): string {
  return options.length === 1 ? `"${options[0]}"` : `one of ${options.join(', ')}`
}

function alternativesOf(errors: readonly (readonly z.core.$ZodIssue[])[]): string {
  const expected = errors.flatMap((branch) =>
    branch.flatMap((issue) => (issue.code === 'invalid_type' ? [article(issue.expected)] : [])),
  )
  if (expected.length === 0) return 'valid'
  return expected.length === 1
    ? (expected[0] ?? 'valid')
    : `${expected.slice(0, -1).join(', ')} or ${expected.at(-1)}`
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`
}

function describeJson(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return article(typeof value)
}

function sizeRule(bound: 'at least' | 'at most', origin: string, limit: number): string {
  if (origin === 'string') {
    return bound === 'at least' && limit === 1
      ? 'must not be empty'
      : `must be ${bound} ${limit} characters long`
  }
  if (origin === 'array') {
    return bound === 'at least' && limit === 1
      ? 'must not be empty'
      : `must have ${bound} ${limit} ${limit === 1 ? 'item' : 'items'}`
  }
  return `must be ${bound} ${limit}`
}

// ---------------------------------------------------------------------------------------------
// References between blocks, and webhook names.

function referenceIssues(raw: RawBot): BotIssue[] {
  const issues: BotIssue[] = []
  const firstPosition = new Map<string, number>()
  for (const block of raw.blocks) {
    if (block.id === undefined) continue
    const first = firstPosition.get(block.id)
    if (first === undefined) {
      firstPosition.set(block.id, block.position)
    } else {
      issues.push({
        path: ['blocks', block.position, 'id'],
        blockId: block.id,
        message: `Block "${block.id}": block ${block.position + 1} uses the same id as block ${first + 1}; ids must be unique.`,
      })
    }
  }
  const ids = [...firstPosition.keys()]
  const unknownTarget = (name: string, target: string) =>
    `${name} points to "${target}", which is not a block id${suggestion(target, ids)}.`

  if (raw.start !== undefined && !firstPosition.has(raw.start)) {
    issues.push({ path: ['start'], message: `Bot: ${unknownTarget('"start"', raw.start)}` })
  }
  for (const block of raw.blocks) {
    const subject = blockName(block.id, block.position)
    const blockId = block.id === undefined || block.id === '' ? {} : { blockId: block.id }
    for (const { path, name, target } of block.targets) {
      if (firstPosition.has(target)) continue
      issues.push({
        path: ['blocks', block.position, ...path],
        ...blockId,
        message: `${subject}: ${unknownTarget(name, target)}`,
      })
    }
  }
  return issues
}

/** Blocks naming a webhook (or model) that is not registered, when the names are known. */
function unregisteredIssues(
  raw: RawBot,
  kind: 'webhook' | 'model',
  names: Iterable<string> | undefined,
): BotIssue[] {
  if (names === undefined) return []
  const registered = new Set(names)
  const issues: BotIssue[] = []
  for (const block of raw.blocks) {
    const name = block[kind]
    if (name === undefined || registered.has(name)) continue
    const known =
      registered.size === 0
        ? `no ${kind} is registered`
        : `registered: ${[...registered].slice(0, 10).join(', ')}${registered.size > 10 ? ', …' : ''}`
    issues.push({
      path: ['blocks', block.position, kind],
      ...(block.id === undefined || block.id === '' ? {} : { blockId: block.id }),
      message: `${blockName(block.id, block.position)}: ${kind} "${name}" is not registered (${known}).`,
    })
  }
  return issues
}

/** `, did you mean "x"?`-style hint for a likely typo, or nothing. */
function suggestion(target: string, ids: readonly string[]): string {
  let best: string | undefined
  let bestDistance = 3
  for (const id of ids) {
    if (Math.abs(id.length - target.length) >= bestDistance) continue
    const distance = editDistance(target.toLowerCase(), id.toLowerCase(), bestDistance)
    if (distance < bestDistance) {
      best = id
      bestDistance = distance
    }
  }
  // One edit turns any short id into any other: only suggest when most of the name survives.
  if (best === undefined || bestDistance * 2 >= target.length) return ''
  return ` (did you mean "${best}"?)`
}

/** Levenshtein distance, giving up (returning `limit`) once it cannot be below `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    let rowBest = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      const value = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      )
      current.push(value)
      if (value < rowBest) rowBest = value
    }
    if (rowBest >= limit) return limit
    previous = current
  }
  return previous[b.length] ?? limit
}

// ---------------------------------------------------------------------------------------------
// Runs of blocks that never wait for the visitor. A loop of them runs forever once entered
// (nothing inside can change the context); a chain longer than `MAX_BLOCKS_PER_STEP` is cut by
// the interpreter's guard, which ends the conversation halfway. Both are refused here.

function runIssues(raw: RawBot): BotIssue[] {
  const byId = new Map<string, RawBlock>()
  for (const block of raw.blocks)
    if (block.id !== undefined && !byId.has(block.id)) byId.set(block.id, block)
  const successors = (block: RawBlock): RawBlock[] => {
    if (block.waits) return []
    const next: RawBlock[] = []
    for (const successor of following(block, byId)) if (!successor.waits) next.push(successor)
    return next
  }
  const components = stronglyConnected([...byId.values()], successors)
  const isLoop = (component: readonly RawBlock[]) => {
    const [only] = component
    return component.length > 1 || (only !== undefined && successors(only).includes(only))
  }
  const loops = components.filter(isLoop).map((component): BotIssue => {
    const cycle = cycleWithin(component, successors)
    const first = cycle[0] as RawBlock
    return {
      path: ['blocks', first.position],
      blockId: first.id as string,
      message: `Block "${first.id}": the blocks ${cycle.map((block) => `"${block.id}"`).join(' → ')} → "${first.id}" form a loop with no question, buttons or synchronous webhook, so it would never stop.`,
    }
  })
  return [
    ...loops,
    ...chainIssues(
      raw,
      byId,
      components.filter((c) => !isLoop(c)),
    ),
  ]
}

/** The blocks a block may go to next (an async webhook never takes its onError). */
function following(block: RawBlock, byId: ReadonlyMap<string, RawBlock>): RawBlock[] {
  const next: RawBlock[] = []
  for (const { target, path } of block.targets) {
    if (path[0] === 'onError' && !block.waits) continue
    const successor = byId.get(target)
    if (successor) next.push(successor)
  }
  return next
}

/**
 * Chains one step would run past `MAX_BLOCKS_PER_STEP`. `components` come from Tarjan's
 * algorithm, which lists a component after every component it leads to, so one pass in that
 * order finds each block's longest run (no recursion: a 20,000-block chain is one loop).
 */
function chainIssues(
  raw: RawBot,
  byId: ReadonlyMap<string, RawBlock>,
  acyclic: readonly RawBlock[][],
): BotIssue[] {
  /** Blocks one step runs from this one, the question or sync webhook it stops at included. */
  const length = new Map<RawBlock, number>()
  const longestNext = new Map<RawBlock, RawBlock>()
  const last = new Map<RawBlock, RawBlock>()
  for (const [block] of acyclic) {
    if (block === undefined) continue
    let best = 0
    let bestNext: RawBlock | undefined
    if (!block.waits) {
      for (const next of following(block, byId)) {
        const run = next.waits ? 1 : (length.get(next) ?? 0)
        if (run > best) {
          best = run
          bestNext = next
        }
      }
    }
    length.set(block, 1 + best)
    if (bestNext) longestNext.set(block, bestNext)
    last.set(block, bestNext ? (last.get(bestNext) ?? bestNext) : block)
  }
  // A step starts at "start" and after each question, buttons or synchronous webhook.
  const entries = new Set<RawBlock>()
  const startBlock = raw.start === undefined ? undefined : byId.get(raw.start)
  if (startBlock) entries.add(startBlock)
  for (const block of raw.blocks)
    if (block.waits) for (const e of following(block, byId)) entries.add(e)
  const issues: BotIssue[] = []
  for (const entry of [...entries].sort((a, b) => a.position - b.position)) {
    const run = length.get(entry) ?? 0
    if (run <= MAX_BLOCKS_PER_STEP) continue
    let cut: RawBlock | undefined = entry
    for (let i = 0; i < MAX_BLOCKS_PER_STEP && cut; i++) cut = longestNext.get(cut)
    issues.push({
      path: ['blocks', entry.position],
      blockId: entry.id as string,
      message: `Block "${entry.id}": the chain "${entry.id}" → … → "${last.get(entry)?.id}" runs ${run} blocks in one turn with no question, buttons or synchronous webhook between them; a turn stops after ${MAX_BLOCKS_PER_STEP} blocks and ends the conversation before "${cut?.id}", so shorten the chain or add a question to it.`,
    })
  }
  return issues
}

/** Tarjan's algorithm, iterative so that 20,000-block chains cannot overflow the stack. */
function stronglyConnected(
  nodes: readonly RawBlock[],
  successors: (node: RawBlock) => RawBlock[],
): RawBlock[][] {
  const order = new Map<RawBlock, number>()
  const low = new Map<RawBlock, number>()
  const onStack = new Set<RawBlock>()
  const stack: RawBlock[] = []
  const components: RawBlock[][] = []
  let counter = 0
  for (const root of nodes) {
    if (order.has(root)) continue
    const work: { node: RawBlock; next: RawBlock[]; i: number }[] = []
    const visit = (node: RawBlock) => {
      order.set(node, counter)
      low.set(node, counter)
      counter++
      stack.push(node)
      onStack.add(node)
      work.push({ node, next: successors(node), i: 0 })
    }
    visit(root)
    while (work.length > 0) {
      const frame = work[work.length - 1] as (typeof work)[number]
      const successor = frame.next[frame.i++]
      if (successor !== undefined) {
        if (!order.has(successor)) visit(successor)
        else if (onStack.has(successor)) {
          low.set(frame.node, Math.min(low.get(frame.node) ?? 0, order.get(successor) ?? 0))
        }
        continue
      }
      work.pop()
      const parent = work[work.length - 1]
      if (parent)
        low.set(parent.node, Math.min(low.get(parent.node) ?? 0, low.get(frame.node) ?? 0))
      if (low.get(frame.node) === order.get(frame.node)) {
        const component: RawBlock[] = []
        let member: RawBlock | undefined
        do {
          member = stack.pop()
          if (member) {
            onStack.delete(member)
            component.push(member)
          }
        } while (member && member !== frame.node)
        components.push(component)
      }
    }
  }
  return components
}

/** One concrete loop inside a strongly connected component, starting at its first block. */
function cycleWithin(
  component: readonly RawBlock[],
  successors: (node: RawBlock) => RawBlock[],
): RawBlock[] {
  const members = new Set(component)
  const start = component.reduce((first, block) =>
    block.position < first.position ? block : first,
  )
  const path: RawBlock[] = []
  const seen = new Map<RawBlock, number>()
  let node: RawBlock | undefined = start
  while (node && !seen.has(node)) {
    seen.set(node, path.length)
    path.push(node)
    node = successors(node).find((successor) => members.has(successor))
  }
  const loop = path.slice(node ? (seen.get(node) ?? 0) : 0)
  return loop
}
