import { config } from 'zod'

// Imported first, before any schema is built: zod otherwise probes for `new Function` (to
// compile fast parsers) as each object schema is created, and a strict CSP reports the probe
// as a violation even though zod catches the refusal. Interpreted parsing is plenty fast here.
config({ jitless: true })
