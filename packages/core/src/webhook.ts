// The webhook protocol alone (`@joon/core/webhook`): signatures and the reading of replies,
// without the bot schema and its validator. For receivers that verify signatures, and for a
// sender that should start fast (the Node server's delivery thread).
export * from './signature.js'
export type { WebhookOutcome } from './types.js'
export * from './webhook-reply.js'
