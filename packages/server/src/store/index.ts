// The SQL stores live in their own modules (`./sqlite.js`, `./postgres.js`) and are not
// re-exported here: importing them loads native or Node-only code, which edge bundles that
// only need `MemoryStore` and the types must never pull in.
export { MemoryStore } from './memory.js'
export { ERROR_EXCERPT_BYTES } from './shared.js'
export * from './types.js'
