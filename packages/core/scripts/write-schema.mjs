// Writes bot.schema.json from the built package (run `pnpm build` first; `pnpm schema` does).
// test/json-schema.test.ts fails when the committed file is stale.
import { writeFileSync } from 'node:fs'
import { botJsonSchema } from '../dist/index.js'

const file = new URL('../bot.schema.json', import.meta.url)
writeFileSync(file, `${JSON.stringify(botJsonSchema(), null, 2)}\n`)
console.log(`wrote ${file.pathname}`)
