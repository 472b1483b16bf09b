import { config } from 'zod'

// Imported first, before any schema is built: zod otherwise probes, as each object schema is
// created, whether it may compile parsers at run time (the Function constructor), and a strict
// CSP reports that probe as a violation even though zod catches the refusal. Interpreted
// parsing is plenty fast for a bot.
config({ jitless: true })
