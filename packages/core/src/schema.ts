import * as z from 'zod'
import { FORBIDDEN_KEYS, hasLoneSurrogate } from './json.js'
import { isValidWebhookSecret } from './signature.js'

export { FORBIDDEN_KEYS }

/** Ids of bots and blocks, variable names and webhook names (contract §1). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

export const Name = z
  .string()
  .regex(NAME_PATTERN, 'must be 1-64 letters, digits, "_" or "-", starting with a letter or digit')

export const VariableName = Name.refine((name) => !FORBIDDEN_KEYS.has(name), {
  message: 'is a reserved name',
})

const BlockId = Name
const Template = z.string().max(4000)

export const AnswerType = z.enum(['text', 'email', 'phone', 'number', 'url', 'date'])
export type AnswerType = z.infer<typeof AnswerType>

const Next = BlockId.describe(
  'Id of the block that runs next. Without it, the conversation ends here.',
)

export const TextBlock = z
  .strictObject({
    id: BlockId,
    type: z.literal('text'),
    text: Template.describe('The message. {{name}} shows a variable.'),
    delay: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .optional()
      .describe('Milliseconds of typing indicator before the message (0-10000).'),
    next: Next.optional(),
  })
  .describe('Shows a message and goes on.')

export const QuestionBlock = z
  .strictObject({
    id: BlockId,
    type: z.literal('question'),
    text: Template.describe('The question. {{name}} shows a variable.'),
    answer: AnswerType.describe('The kind of answer expected; invalid answers are asked again.'),
    saveAnswerTo: VariableName.optional().describe('Variable that stores the answer.'),
    placeholder: z.string().max(200).optional().describe('Hint shown in the empty answer box.'),
    retryText: Template.optional().describe('Shown when the answer is invalid.'),
    next: Next.optional(),
  })
  .describe('Asks a question and waits for a typed answer.')

export const Choice = z.strictObject({
  label: z.string().min(1).max(200).describe('The button text.'),
  value: z.string().min(1).max(200).optional().describe('Saved instead of the label.'),
  next: BlockId.optional().describe(
    "Id of the block that runs next after this choice (overrides the block's next).",
  ),
})

export const ButtonsBlock = z
  .strictObject({
    id: BlockId,
    type: z.literal('buttons'),
    text: Template.describe('The question. {{name}} shows a variable.'),
    choices: z.array(Choice).min(1).max(20),
    saveAnswerTo: VariableName.optional().describe(
      "Variable that stores the choice's value, or its label.",
    ),
    next: Next.optional(),
  })
  .describe('Asks the user to pick one of 1 to 20 buttons.')

export const WebhookBlock = z
  .strictObject({
    id: BlockId,
    type: z.literal('webhook'),
    webhook: Name.describe('Name of a registered webhook.'),
    async: z
      .boolean()
      .default(false)
      .describe('true: deliver in the background and go on at once. false: wait for the reply.'),
    onError: BlockId.optional().describe(
      'Id of the block that runs when a synchronous call fails.',
    ),
    next: Next.optional(),
  })
  .describe('POSTs the variables and the transcript to a webhook.')

export const ConditionOp = z.enum([
  'equals',
  'not_equals',
  'contains',
  'gt',
  'lt',
  'is_set',
  'is_not_set',
])

export const ConditionRule = z.strictObject({
  variable: VariableName,
  op: ConditionOp,
  value: z.union([z.string().max(4000), z.number(), z.boolean()]).optional(),
  next: BlockId.describe('Id of the block that runs when the rule holds.'),
})

export const ConditionBlock = z
  .strictObject({
    id: BlockId,
    type: z.literal('condition'),
    rules: z.array(ConditionRule).max(100).describe('Tried in order; the first that holds wins.'),
    else: BlockId.optional().describe(
      'Id of the block that runs when no rule holds. Without it, the conversation ends.',
    ),
  })
  .describe('Branches on variables.')

/** Most turns an `ai` block may take (`maxTurns`). */
export const MAX_AI_TURNS = 20

export const CollectedValue = z.strictObject({
  type: z.enum(['string', 'number', 'boolean']).describe('The JSON type the value must have.'),
  description: z
    .string()
    .min(1)
    .max(1000)
    .describe('What the value is, for the model (e.g. "Number of employees").'),
})

export const AiBlock = z
  .strictObject({
    id: BlockId,
    type: z.literal('ai'),
    model: Name.describe('Name of a registered model.'),
    instructions: Template.describe(
      'The system message: what the model is for and how it speaks. {{name}} shows a variable.',
    ),
    maxTurns: z
      .number()
      .int()
      .min(1)
      .max(MAX_AI_TURNS)
      .optional()
      .describe(
        'How many visitor messages the model answers before the flow goes on (default 1: one answer to the last message). With collect: most answers before giving up (default 10).',
      ),
    collect: z
      .record(VariableName, CollectedValue)
      .refine((values) => Object.keys(values).length <= 20, {
        message: 'must have at most 20 values',
      })
      .optional()
      .describe(
        'Values the model gathers in conversation; once it has them all they are saved as variables and the flow goes on.',
      ),
    onError: BlockId.optional().describe(
      'Id of the block that runs when the model fails (timeout, error, invalid values twice).',
    ),
    next: Next.optional(),
  })
  .describe('Answers the visitor with a language model, or collects values in conversation.')

export const Block = z.discriminatedUnion('type', [
  TextBlock,
  QuestionBlock,
  ButtonsBlock,
  WebhookBlock,
  ConditionBlock,
  AiBlock,
])

/** Where the visual builder draws a block: editor-only, never read by the interpreter. */
export const BlockPosition = z.strictObject({
  x: z.number().finite().min(-1_000_000).max(1_000_000),
  y: z.number().finite().min(-1_000_000).max(1_000_000),
})

export const Layout = z
  .record(BlockId, BlockPosition)
  .describe(
    "The visual builder's node positions by block id. Editor-only: the interpreter ignores it.",
  )

export const Bot = z.strictObject({
  $schema: z.string().optional(),
  id: Name,
  name: z.string().max(200).optional(),
  start: BlockId.describe('Id of the first block.'),
  blocks: z.array(Block).min(1).max(20_000),
  layout: Layout.optional(),
})

export type TextBlock = z.infer<typeof TextBlock>
export type QuestionBlock = z.infer<typeof QuestionBlock>
export type ButtonsBlock = z.infer<typeof ButtonsBlock>
export type WebhookBlock = z.infer<typeof WebhookBlock>
export type ConditionBlock = z.infer<typeof ConditionBlock>
export type AiBlock = z.infer<typeof AiBlock>
export type ConditionRule = z.infer<typeof ConditionRule>
export type Choice = z.infer<typeof Choice>
export type BlockPosition = z.infer<typeof BlockPosition>
export type Block = z.infer<typeof Block>
/** A bot as parsed (defaults applied). */
export type Bot = z.infer<typeof Bot>
/** A bot as written in a file (defaults optional). */
export type BotInput = z.input<typeof Bot>

/** An HTTP token (RFC 9110 §5.6.2): what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/
/**
 * Header values are sent as bytes, so only printable ASCII, space and tab travel the same
 * through every HTTP client: undici and fetch refuse control characters, CR/LF and anything
 * past U+00FF (`€`, emoji), and bytes 0x80-0xFF are read differently by each receiver.
 */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/
/** Headers the HTTP client itself owns: undici refuses them or they would corrupt the call. */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'content-length',
  'expect',
  'host',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/** Why a webhook header cannot be sent as configured, naming it; undefined when it can. */
function headerProblem(name: string, value: string): string | undefined {
  if (!HEADER_NAME.test(name)) {
    return `header name ${JSON.stringify(name)} is not a valid HTTP header name (letters, digits and !#$%&'*+.^_\`|~- only)`
  }
  if (RESERVED_HEADERS.has(name.toLowerCase())) {
    return `header "${name}" is set by the HTTP client and cannot be configured`
  }
  if (!HEADER_VALUE.test(value)) {
    return `header "${name}" has a value that cannot be sent in HTTP: use printable ASCII only (no line breaks, control or non-ASCII characters)`
  }
  return undefined
}

/** Headers sent with every call, each checked to be sendable. */
const CallHeaders = z.record(z.string(), z.string().max(8192)).superRefine((headers, ctx) => {
  for (const [name, value] of Object.entries(headers)) {
    const problem = headerProblem(name, value)
    if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem })
  }
})

/** A registered webhook (contract §3). */
export const Webhook = z.strictObject({
  name: Name,
  url: z
    .string()
    .max(2048)
    .refine((url) => /^https?:$/.test(URL.parse(url)?.protocol ?? ''), {
      message: 'must be an http:// or https:// URL',
    }),
  headers: CallHeaders.optional(),
  secret: z
    .string()
    .min(1)
    .max(1024)
    .refine(isValidWebhookSecret, {
      message: 'must be "whsec_" followed by base64, as Standard Webhooks secrets are',
    })
    .optional(),
  timeoutMs: z.number().int().min(1).max(30_000).default(10_000),
})
export type Webhook = z.infer<typeof Webhook>
export type WebhookInput = z.input<typeof Webhook>

/** A registered language model (contract §10): an OpenAI-compatible chat completions API. */
export const Model = z.strictObject({
  name: Name,
  baseUrl: z
    .string()
    .max(2048)
    .refine((url) => /^https?:$/.test(URL.parse(url)?.protocol ?? ''), {
      message: 'must be an http:// or https:// URL (the API root, e.g. https://api.openai.com/v1)',
    }),
  model: z.string().min(1).max(200).describe('The model as the API names it, e.g. gpt-4o-mini.'),
  apiKey: z
    .string()
    .min(1)
    .max(4096)
    .regex(HEADER_VALUE, 'must be printable ASCII: it is sent in the Authorization header')
    .optional(),
  headers: CallHeaders.optional(),
  timeoutMs: z.number().int().min(1).max(120_000).default(30_000),
  maxTokens: z.number().int().min(1).max(200_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
})
export type Model = z.infer<typeof Model>
export type ModelInput = z.input<typeof Model>

/** One element of a text instruction: one bot message. */
export const InstructionElement = z.object({
  label: z.string(),
  order: z.number().optional(),
  placeholder: z.string().nullable().optional(),
})

/** Joonbot's text instruction (contract §5). */
export const TextInstruction = z.object({
  type: z.literal('text'),
  delay: z.number().min(0).optional(),
  elements: z.array(InstructionElement),
})
export type TextInstruction = z.infer<typeof TextInstruction>
/** The one instruction type Joon renders today; unknown types are skipped by parsers. */
export type Instruction = TextInstruction

/** What the chat client should ask for next (contract §4); null once the conversation ended. */
export interface Input {
  type: AnswerType | 'buttons'
  placeholder?: string
  choices?: { label: string }[]
}

export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue }

const LONE_SURROGATE_MESSAGE =
  'must not contain a lone surrogate (\\ud800-\\udfff without its pair): it is not valid Unicode text'

/** Body of `POST /api/v1/bots/:botId/conversations`. */
export const StartRequest = z.strictObject({
  variables: z
    .record(z.string().min(1).max(256), z.json())
    .refine((variables) => !hasLoneSurrogate(variables), { message: LONE_SURROGATE_MESSAGE })
    .optional(),
})

/** Body of `POST /api/v1/conversations/:id/replies`. */
export const ReplyRequest = z.strictObject({
  text: z
    .string()
    .max(10_000)
    .refine((text) => !hasLoneSurrogate(text), { message: LONE_SURROGATE_MESSAGE }),
})
