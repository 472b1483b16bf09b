import { useEffect, useState } from 'preact/hooks'

/**
 * Hash routes (`#/bots/lead-gen`), so the server serves one page and any view can be
 * bookmarked or opened in a new tab.
 */
export type Section = 'webhooks' | 'models' | 'bots' | 'deliveries' | 'conversations' | 'results'

export interface Route {
  section: Section
  /** The webhook, model, bot, conversation or bot's results shown; `new` for a new one. */
  id: string | null
}

const SECTIONS: readonly Section[] = [
  'webhooks',
  'models',
  'bots',
  'deliveries',
  'conversations',
  'results',
]

export function parseRoute(hash: string): Route {
  const [section, ...rest] = hash.replace(/^#\/?/, '').split('/')
  const id = rest.length > 0 ? safeDecode(rest.join('/')) : null
  return {
    section: SECTIONS.includes(section as Section) ? (section as Section) : 'webhooks',
    id: id === '' ? null : id,
  }
}

export function href(section: Section, id?: string | null): string {
  return id ? `#/${section}/${encodeURIComponent(id)}` : `#/${section}`
}

export function navigate(section: Section, id?: string | null): void {
  location.hash = href(section, id)
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash))
    addEventListener('hashchange', onChange)
    return () => removeEventListener('hashchange', onChange)
  }, [])
  return route
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
