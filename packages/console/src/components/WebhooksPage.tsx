import type { Bot } from '@joon/core'
import { useCallback, useEffect, useState } from 'preact/hooks'
import { type AdminClient, messageOf, type WebhookView } from '../api.js'
import { href, navigate } from '../route.js'
import { Notice } from './Notice.js'
import { WebhookForm } from './WebhookForm.js'
import { HealthSummary } from './WebhookHealth.js'

/** Registered webhooks on the left, the selected one (or a new one) in the form. */
export function WebhooksPage({ api, selected }: { api: AdminClient; selected: string | null }) {
  const [webhooks, setWebhooks] = useState<WebhookView[] | null>(null)
  const [bots, setBots] = useState<Bot[]>([])
  const [error, setError] = useState<string | null>(null)
  /** The webhook just created: its form (a new instance) says so and takes focus. */
  const [created, setCreated] = useState<{ name: string; warnings: string[] } | null>(null)

  const reload = useCallback(async () => {
    try {
      const [loadedWebhooks, loadedBots] = await Promise.all([api.listWebhooks(), api.listBots()])
      setWebhooks(loadedWebhooks)
      setBots(loadedBots)
      setError(null)
    } catch (caught) {
      setError(messageOf(caught))
    }
  }, [api])
  useEffect(() => {
    void reload()
  }, [reload])

  const usedBy = (name: string) =>
    bots
      .filter((bot) =>
        bot.blocks.some((block) => block.type === 'webhook' && block.webhook === name),
      )
      .map((bot) => bot.id)
  const current = selected === 'new' ? null : webhooks?.find((w) => w.name === selected)

  return (
    <div class="page">
      <div class="page-head">
        <h1 tabIndex={-1}>Webhooks</h1>
        <a class="button primary" href={href('webhooks', 'new')}>
          New webhook
        </a>
      </div>
      {error ? <Notice kind="error">{error}</Notice> : null}
      <div class="split">
        <section class="list-pane" aria-labelledby="webhook-list-title">
          <h2 id="webhook-list-title" class="visually-hidden">
            Registered webhooks
          </h2>
          {webhooks === null ? (
            <p class="muted">Loading…</p>
          ) : webhooks.length === 0 ? (
            <p class="muted">No webhook yet. Create one to call it from a bot.</p>
          ) : (
            <ul class="item-list">
              {webhooks.map((webhook) => {
                const users = usedBy(webhook.name)
                return (
                  <li key={webhook.name}>
                    <a
                      class="item-link"
                      href={href('webhooks', webhook.name)}
                      aria-current={webhook.name === selected ? 'true' : undefined}
                    >
                      <span class="item-title">{webhook.name}</span>
                      <span class="item-sub">{webhook.url}</span>
                      <span class="item-sub">
                        {users.length === 0 ? 'Not used by any bot' : `Used by ${users.join(', ')}`}
                      </span>
                      <span class="item-sub item-health">
                        <HealthSummary health={webhook.health} />
                      </span>
                    </a>
                  </li>
                )
              })}
            </ul>
          )}
        </section>
        <section class="detail-pane" aria-label="Webhook details">
          {selected === 'new' ? (
            <WebhookForm
              key="new"
              api={api}
              webhook={null}
              usedBy={[]}
              onSaved={async (name, warnings) => {
                await reload()
                setCreated({ name, warnings })
                navigate('webhooks', name)
              }}
              onDeleted={reload}
            />
          ) : current ? (
            <WebhookForm
              key={current.name}
              api={api}
              webhook={current}
              created={created?.name === current.name}
              createdWarnings={created?.name === current.name ? created.warnings : []}
              usedBy={usedBy(current.name)}
              onSaved={reload}
              onDeleted={async () => {
                await reload()
                navigate('webhooks')
              }}
            />
          ) : selected && webhooks ? (
            <Notice kind="error">Webhook "{selected}" does not exist.</Notice>
          ) : (
            <p class="muted empty-detail">
              Pick a webhook to edit it, or create a new one. Bots call webhooks by name.
            </p>
          )}
        </section>
      </div>
    </div>
  )
}
