import { AnswerType, Bot, TextInstruction, Webhook } from '@joon/core'
import * as z from 'zod'

/**
 * What the HTTP API answers, as zod schemas: the OpenAPI document describes every response
 * with them, and the views that build the answers are typed by them (`z.input<…>`), so a view
 * cannot drift from its description without failing `pnpm typecheck`. Requests are described
 * by the schemas their routes validate with.
 */

const Iso = z.iso.datetime({ offset: true }).describe('An ISO 8601 instant')

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().describe('Stable, machine-readable: invalid_body, not_found, rate_limited…'),
      message: z.string(),
      issues: z
        .array(
          z.object({
            path: z.array(z.union([z.string(), z.number()])),
            message: z.string(),
            blockId: z.string().optional(),
          }),
        )
        .optional(),
    }),
  })
  .meta({ id: 'Error' })

export const Health = z.object({ status: z.enum(['ok', 'unavailable']) })

export const Input = z
  .object({
    type: z.union([AnswerType, z.literal('buttons')]),
    placeholder: z.string().optional(),
    choices: z.array(z.object({ label: z.string() })).optional(),
  })
  .nullable()
  .describe('What to ask the visitor for next; null once the conversation ended')
  .meta({ id: 'Input' })

const Instruction = TextInstruction.meta({ id: 'Instruction' })

export const Turn = z.object({
  responses: z.array(Instruction),
  input: Input,
  ended: z.boolean(),
})

export const StartedConversation = Turn.extend({ conversationId: z.string() })

const Message = z.object({ from: z.enum(['bot', 'user']), text: z.string() })

export const ConversationView = z
  .object({
    conversationId: z.string(),
    botId: z.string(),
    messages: z.array(Message),
    input: Input,
    ended: z.boolean(),
  })
  .meta({ id: 'Conversation' })

export const AdminConversationView = ConversationView.extend({
  context: z.record(z.string(), z.unknown()),
  transcript: z.string(),
  createdAt: Iso,
  updatedAt: Iso,
}).meta({ id: 'ConversationDetail' })

const WebhookConfig = Webhook.meta({ id: 'Webhook' })
export const WebhookHealth = z
  .object({
    state: z
      .enum(['healthy', 'failing', 'unknown'])
      .describe('failing: the latest call failed; unknown: no call recorded yet'),
    lastSuccessAt: Iso.nullable().describe(
      'When the latest successful call started (while all goes well, to the second)',
    ),
    lastFailureAt: Iso.nullable(),
    consecutiveFailures: z
      .number()
      .int()
      .describe('Failed calls since the last success: every attempt of a delivery counts'),
    failingSince: Iso.nullable().describe('When the first of those failed calls started'),
    failedDeliveries: z
      .number()
      .int()
      .describe(
        'Deliveries that failed for good since the last success (retries exhausted, or a failed synchronous call)',
      ),
    lastError: z.string().nullable().describe("The latest failure's error, kept after a success"),
  })
  .meta({ id: 'WebhookHealth' })
export const WebhookView = WebhookConfig.extend({
  headers: z
    .record(z.string(), z.string())
    .optional()
    .describe('Values masked: the last 4 characters only (••••••••c3f9)'),
  secret: z
    .string()
    .optional()
    .describe('Masked (••••••••c3f9); POST …/secret/reveal shows it, …/secret/rotate replaces it'),
  health: WebhookHealth,
}).meta({ id: 'WebhookView' })
export const Webhooks = z.object({ webhooks: z.array(WebhookView) })
export const WebhookSecret = z.object({
  secret: z.string().nullable().describe('In clear; null when the webhook has no secret'),
})
export const WebhookHeaders = z.object({
  headers: z.record(z.string(), z.string()).describe('In clear'),
})
export const SavedWebhook = WebhookConfig.extend({
  warnings: z
    .array(z.string())
    .optional()
    .describe("Why calls to this URL will fail under the server's settings (a private address)"),
})
export const WebhookTest = z.object({
  status: z.number().nullable(),
  durationMs: z.number(),
  outcome: z.string(),
  error: z.string().nullable(),
  body: z.string().describe('The test payload that was sent'),
})

export const BotView = Bot.meta({ id: 'Bot' })
export const Bots = z.object({ bots: z.array(BotView) })
export const BotVersions = z.object({
  versions: z.array(
    z.object({
      version: z.number().int(),
      savedAt: Iso,
      source: z.enum(['console', 'api', 'file']),
      blocks: z.number().int(),
      live: z.number().int().describe('Conversations still running on this version'),
    }),
  ),
  file: z.object({ path: z.string() }).nullable(),
})
export const LiveConversations = z.object({
  live: z.number().int(),
  byBlock: z.record(z.string(), z.number().int()),
  byVersion: z.record(z.string(), z.number().int()),
})

export const DeliveryView = z
  .object({
    id: z.string(),
    webhook: z.string(),
    conversationId: z.string().nullable(),
    async: z.boolean(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: Iso,
    nextAttemptAt: Iso.nullable(),
  })
  .meta({ id: 'Delivery' })
export const Deliveries = z.object({ deliveries: z.array(DeliveryView) })
export const DeliveryDetail = DeliveryView.extend({
  body: z.string().describe('The JSON payload, as sent'),
  history: z.array(
    z.object({
      at: Iso,
      status: z.number().int().nullable(),
      durationMs: z.number(),
      error: z.string().nullable(),
    }),
  ),
})

export const ConversationSummary = z.object({
  conversationId: z.string(),
  botId: z.string(),
  startedAt: Iso,
  updatedAt: Iso,
  ended: z.boolean(),
  variables: z.record(z.string(), z.unknown()),
  messages: z.number().int(),
})
export const ResultsPage = z.object({
  conversations: z.array(ConversationSummary),
  nextCursor: z.string().nullable().describe('Pass it as `cursor` for the next page'),
})
export const Funnel = z.object({
  conversations: z.number().int(),
  blocks: z.array(
    z.object({
      id: z.string(),
      type: z.string(),
      reached: z.number().int(),
      stoppedHere: z.number().int(),
    }),
  ),
})
export const Erasure = z.union([
  z.object({ erased: z.number().int() }),
  z.object({ wouldErase: z.number().int() }),
])
