import { useLayoutEffect, useRef } from 'preact/hooks'
import type { AdminClient } from '../api.js'
import { href, type Section, useRoute } from '../route.js'
import { BotsPage } from './BotsPage.js'
import { ConversationsPage } from './ConversationsPage.js'
import { DeliveriesPage } from './DeliveriesPage.js'
import { ModelsPage } from './ModelsPage.js'
import { ResultsPage } from './ResultsPage.js'
import { WebhooksPage } from './WebhooksPage.js'

const SECTIONS: { section: Section; label: string }[] = [
  { section: 'webhooks', label: 'Webhooks' },
  { section: 'models', label: 'Models' },
  { section: 'bots', label: 'Bots' },
  { section: 'deliveries', label: 'Deliveries' },
  { section: 'conversations', label: 'Conversations' },
  { section: 'results', label: 'Results' },
]

/** The signed-in frame: banner with the sections, then the current page in `main`. */
export function Shell({ api, onSignOut }: { api: AdminClient; onSignOut: () => void }) {
  const route = useRoute()
  const main = useRef<HTMLElement>(null)
  const first = useRef(true)
  const label = SECTIONS.find((item) => item.section === route.section)?.label ?? ''

  useLayoutEffect(() => {
    document.title = `${label} · Joon console`
    // After a section change, start keyboard and screen-reader users at the new heading.
    if (first.current) first.current = false
    else main.current?.querySelector<HTMLElement>('h1')?.focus()
  }, [route.section, label])

  return (
    <>
      {/* A button, not a `#main` link: the URL fragment holds the route. */}
      <button type="button" class="skip-link" onClick={() => main.current?.focus()}>
        Skip to content
      </button>
      <header class="topbar">
        <span class="brand">Joon console</span>
        <nav aria-label="Sections">
          <ul>
            {SECTIONS.map((item) => (
              <li key={item.section}>
                <a
                  href={href(item.section)}
                  aria-current={route.section === item.section ? 'page' : undefined}
                >
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="ghost" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {route.section === 'webhooks' ? <WebhooksPage api={api} selected={route.id} /> : null}
        {route.section === 'models' ? <ModelsPage api={api} selected={route.id} /> : null}
        {route.section === 'bots' ? <BotsPage api={api} selected={route.id} /> : null}
        {route.section === 'deliveries' ? <DeliveriesPage api={api} /> : null}
        {route.section === 'conversations' ? (
          <ConversationsPage api={api} selected={route.id} />
        ) : null}
        {route.section === 'results' ? <ResultsPage api={api} botId={route.id} /> : null}
      </main>
    </>
  )
}
