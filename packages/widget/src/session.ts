/** What survives a page reload: the conversation to resume and whether the panel was open. */
export interface Session {
  conversationId: string | null
  open: boolean
  /** A reply that could not be sent: shown again, with its Retry, after a reload. */
  pending?: string | undefined
}

export interface SessionStore {
  load(): Session
  save(session: Session): void
}

/**
 * localStorage, keyed by server, bot and `session` (embeds that name the same one share a
 * conversation); a browser that refuses storage just forgets.
 */
export function localSession(server: string, bot: string, session?: string): SessionStore {
  const key = `joon:${server}:${bot}${session ? `:${session}` : ''}`
  // Sandboxed iframes and some privacy modes throw on any use of localStorage (or it is null).
  return {
    load() {
      let saved: { id?: unknown; open?: unknown; pending?: unknown } | null = null
      try {
        saved = JSON.parse(localStorage.getItem(key) ?? 'null')
      } catch {}
      // Any other value (another script's, a hand edit) has none of these as it should.
      const { id, open, pending } = saved ?? {}
      return {
        conversationId: typeof id === 'string' ? id : null,
        open: open === true,
        pending: typeof pending === 'string' ? pending : undefined,
      }
    },
    save({ conversationId, open, pending }) {
      try {
        if (conversationId === null && !open) localStorage.removeItem(key)
        else localStorage.setItem(key, JSON.stringify({ id: conversationId, open, pending }))
      } catch {}
    },
  }
}

export function memorySession(
  initial: Session = { conversationId: null, open: false },
): SessionStore {
  let current = { ...initial }
  return {
    load: () => ({ ...current }),
    save: (session) => {
      current = { ...session }
    },
  }
}
