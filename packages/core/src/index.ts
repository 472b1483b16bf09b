// Where a reply turns into the next bot message: `step` in ./transition.ts.
export * from './ai.js'
export * from './answer.js'
export * from './condition.js'
export { hasLoneSurrogate, jsonTextDepth, MAX_JSON_DEPTH } from './json.js'
export * from './json-schema.js'
export * from './payload.js'
export * from './run-turn.js'
export * from './schema.js'
export * from './signature.js'
export * from './template.js'
export * from './transcript.js'
export {
  CONVERSATION_LIMIT_NOTICE,
  callIdOf,
  currentInput,
  DEFAULT_RETRY_TEXTS,
  MAX_BLOCKS_PER_STEP,
  MAX_MESSAGES_PER_CONVERSATION,
  MAX_TRANSCRIPT_BYTES,
  step,
} from './transition.js'
export * from './types.js'
export * from './validate.js'
export * from './webhook-call.js'
export * from './webhook-reply.js'
export * from './webhook-stream.js'
