export { type AppOptions, createApp, DEFAULT_RATE_LIMIT, type JoonApp } from './app.js'
export { parseRetrySchedule, readConfig, type ServerConfig } from './config.js'
export {
  replyToConversation,
  startConversation,
  type TurnDeps,
  type WebhookSender,
} from './conversation.js'
export { createFetchSender } from './delivery/fetch-sender.js'
export { MemoryStore } from './store/memory.js'
export type * from './store/types.js'
export { StoreConflictError } from './store/types.js'
export { VERSION } from './version.js'
