// The SQL stores live in their own modules (`./sqlite.js`, `./postgres.js`) and are not
// re-exported here: importing them loads native or Node-only code, which edge bundles that
// only need `MemoryStore` and the types must never pull in.

export { ERROR_EXCERPT_BYTES } from './deliveries.js'
export { MemoryStore } from './memory.js'
export * from './types.js'
