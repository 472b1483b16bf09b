// The webhook protocol alone (`@joon/core/webhook`): signatures, request headers, the reading
// of replies into outcomes, `Retry-After`; without the bot schema and its validator. For
// receivers that verify signatures, and for anyone writing a sender of their own.
export * from './signature.js'
export type { WebhookOutcome } from './types.js'
export * from './webhook-call.js'
export * from './webhook-reply.js'
export * from './webhook-stream.js'
