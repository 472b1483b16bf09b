// Where a reply turns into the next bot message: `step` in ./transition.ts.
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
  callIdOf,
  currentInput,
  DEFAULT_RETRY_TEXTS,
  MAX_BLOCKS_PER_STEP,
  step,
} from './transition.js'
export * from './types.js'
export * from './validate.js'
export * from './webhook-call.js'
export * from './webhook-reply.js'
