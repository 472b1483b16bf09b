export { MemoryStore } from './memory.js'
export * from './types.js'
