import type { AiBlock, JsonValue } from './schema.js'
import type { AiTool, Message, ModelMessage } from './types.js'

/** The tool an `ai` block with `collect` offers the model. */
export const COLLECT_TOOL_NAME = 'save_answers'

/** How many model answers an `ai` block with `collect` may give before it gives up. */
export const DEFAULT_COLLECT_TURNS = 10

/** The most recent messages a model sees as history: enough for a chat, bounded in tokens. */
export const MAX_HISTORY_MESSAGES = 100

/** How many answers the block gives: `maxTurns`, else 1, or 10 when it collects. */
export function answersAllowed(block: AiBlock): number {
  return block.maxTurns ?? (block.collect ? DEFAULT_COLLECT_TURNS : 1)
}

/** The chat-completions messages: the instructions as the system message, then the history. */
export function modelMessages(
  instructions: string,
  messages: readonly Message[],
  note?: string,
): ModelMessage[] {
  const history = messages.slice(-MAX_HISTORY_MESSAGES).map(
    (message): ModelMessage => ({
      role: message.from === 'user' ? 'user' : 'assistant',
      content: message.text,
    }),
  )
  return [
    { role: 'system', content: instructions },
    ...history,
    ...(note ? [{ role: 'system' as const, content: note }] : []),
  ]
}

/** The tool whose arguments are the values `collect` asks for, all required. */
export function collectTool(collect: NonNullable<AiBlock['collect']>): AiTool {
  const properties: AiTool['parameters']['properties'] = {}
  for (const [name, value] of Object.entries(collect)) {
    properties[name] = { type: value.type, description: value.description }
  }
  return {
    name: COLLECT_TOOL_NAME,
    description:
      'Saves the values once the visitor has given every one of them. Until then, ask for what is missing.',
    parameters: {
      type: 'object',
      properties,
      required: Object.keys(collect),
      additionalProperties: false,
    },
  }
}

/**
 * The collected values as variables, in `collect`'s order, or why they cannot be taken. A
 * number may come as numeric text and a boolean as "true"/"false" (models often quote them);
 * text is trimmed and must not be empty. Other keys are ignored.
 */
export function checkCollected(
  collect: NonNullable<AiBlock['collect']>,
  values: unknown,
): { ok: true; variables: [string, JsonValue][] } | { ok: false; reason: string } {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    return { ok: false, reason: 'the arguments are not a JSON object' }
  }
  const given = values as Record<string, unknown>
  const variables: [string, JsonValue][] = []
  const problems: string[] = []
  for (const [name, { type }] of Object.entries(collect)) {
    const value = Object.hasOwn(given, name) ? toType(type, given[name]) : undefined
    if (value === undefined) problems.push(`"${name}" must be a ${type}`)
    else variables.push([name, value])
  }
  return problems.length === 0
    ? { ok: true, variables }
    : { ok: false, reason: problems.join(', ') }
}

function toType(type: 'string' | 'number' | 'boolean', value: unknown): JsonValue | undefined {
  switch (type) {
    case 'string':
      return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
    case 'number': {
      const number = typeof value === 'string' && value.trim() !== '' ? Number(value.trim()) : value
      return typeof number === 'number' && Number.isFinite(number) ? number : undefined
    }
    case 'boolean':
      if (typeof value === 'boolean') return value
      return value === 'true' ? true : value === 'false' ? false : undefined
  }
}
