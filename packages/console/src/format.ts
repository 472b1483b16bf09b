/** Short, locale-aware renderings shared by the views. */

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  })
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—'
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
}

/** The first line of a text, at most `max` characters. */
export function excerpt(text: string | null | undefined, max = 120): string {
  if (!text) return ''
  const line = text.split('\n', 1)[0] ?? ''
  return line.length > max || line.length < text.trimEnd().length
    ? `${line.slice(0, max).trimEnd()}…`
    : line
}

/** Pretty JSON when `text` is JSON, else the text itself. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    return text
  }
}
