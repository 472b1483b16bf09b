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
  const storage = (): Storage | null => {
    try {
      return window.localStorage
    } catch {
      return null // sandboxed iframes and some privacy modes throw on access
    }
  }
  return {
    load() {
      try {
        const saved: unknown = JSON.parse(storage()?.getItem(key) ?? 'null')
        if (typeof saved === 'object' && saved !== null) {
          const { id, open, pending } = saved as { id?: unknown; open?: unknown; pending?: unknown }
          return {
            conversationId: typeof id === 'string' ? id : null,
            open: open === true,
            pending: typeof pending === 'string' ? pending : undefined,
          }
        }
      } catch {}
      return { conversationId: null, open: false }
    },
    save({ conversationId, open, pending }) {
      try {
        if (conversationId === null && !open) storage()?.removeItem(key)
        else storage()?.setItem(key, JSON.stringify({ id: conversationId, open, pending }))
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
