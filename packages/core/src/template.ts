import type { JsonValue } from './schema.js'

/** Variables a template reads: the conversation's ordered entries, a Map or a plain record. */
export type TemplateContext =
  | ReadonlyMap<string, JsonValue>
  | readonly (readonly [string, JsonValue])[]
  | Readonly<Record<string, JsonValue>>

// Any name without spaces or braces, so variables merged from webhooks (which need not follow
// NAME_PATTERN) can be shown too. `{{ not a name }}` is left as written.
const PLACEHOLDER = /\{\{\s*([^{}\s]{1,256})\s*\}\}/g

/**
 * Replaces `{{name}}` and `{{ name }}` with the variable's value (contract §1): a string as is,
 * any other JSON value as JSON, a missing variable as an empty string.
 */
export function renderTemplate(text: string, context: TemplateContext): string {
  return renderTemplateWith(text, (name) => lookup(context, name))
}

/** `renderTemplate` over any variable lookup (the interpreter passes its own). */
export function renderTemplateWith(
  text: string,
  lookup: (name: string) => JsonValue | undefined,
): string {
  if (!text.includes('{{')) return text
  return text.replace(PLACEHOLDER, (_match, name: string) => renderValue(lookup(name)))
}

/** How a variable reads in a template and in `equals` conditions. */
export function renderValue(value: JsonValue | undefined): string {
  if (value === undefined) return ''
  return typeof value === 'string' ? value : JSON.stringify(value)
}

function lookup(context: TemplateContext, name: string): JsonValue | undefined {
  if (context instanceof Map) return context.get(name)
  if (Array.isArray(context)) {
    for (const [key, value] of context as readonly (readonly [string, JsonValue])[]) {
      if (key === name) return value
    }
    return undefined
  }
  const record = context as Readonly<Record<string, JsonValue>>
  return Object.hasOwn(record, name) ? record[name] : undefined
}
