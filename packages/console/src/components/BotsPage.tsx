import type { Bot } from '@joon/core'
import { useCallback, useEffect, useState } from 'preact/hooks'
import { type AdminClient, messageOf } from '../api.js'
import { href, navigate } from '../route.js'
import { BotEditor } from './BotEditor.js'
import { Notice } from './Notice.js'

/** Bots on the left; the selected one's flow builder (and JSON), versions and live chat. */
export function BotsPage({ api, selected }: { api: AdminClient; selected: string | null }) {
  const [bots, setBots] = useState<Bot[] | null>(null)
  const [webhooks, setWebhooks] = useState<string[]>([])
  /** The registered models; null while unknown (a server without the models API). */
  const [models, setModels] = useState<string[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  /** The bot just created (or saved under a new id): its editor says so and takes focus. */
  const [created, setCreated] = useState<string | null>(null)

  const reload = useCallback(async () => {
    try {
      const [loadedBots, loadedWebhooks, loadedModels] = await Promise.all([
        api.listBots(),
        api.listWebhooks(),
        api.listModels().catch(() => null),
      ])
      setBots(loadedBots)
      setWebhooks(loadedWebhooks.map((webhook) => webhook.name))
      setModels(loadedModels ? loadedModels.map((model) => model.name) : null)
      setError(null)
    } catch (caught) {
      setError(messageOf(caught))
    }
  }, [api])
  useEffect(() => {
    void reload()
  }, [reload])

  const current = selected === 'new' ? null : bots?.find((bot) => bot.id === selected)

  return (
    <div class="page">
      <div class="page-head">
        <h1 tabIndex={-1}>Bots</h1>
        <a class="button primary" href={href('bots', 'new')}>
          New bot
        </a>
      </div>
      {error ? <Notice kind="error">{error}</Notice> : null}
      <div class={selected ? 'split split-editing' : 'split split-wide'}>
        <section class="list-pane" aria-labelledby="bot-list-title">
          <h2 id="bot-list-title" class="visually-hidden">
            Bots
          </h2>
          {bots === null ? (
            <p class="muted">Loading…</p>
          ) : bots.length === 0 ? (
            <p class="muted">No bot yet.</p>
          ) : (
            <ul class="item-list">
              {bots.map((bot) => (
                <li key={bot.id}>
                  <a
                    class="item-link"
                    href={href('bots', bot.id)}
                    aria-current={bot.id === selected ? 'true' : undefined}
                  >
                    <span class="item-title">{bot.id}</span>
                    {/* While a bot is open the list is a row of links: ids only. */}
                    {selected ? null : (
                      <>
                        {bot.name ? <span class="item-sub">{bot.name}</span> : null}
                        <span class="item-sub">
                          {bot.blocks.length} block{bot.blocks.length === 1 ? '' : 's'}
                        </span>
                      </>
                    )}
                  </a>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section class="detail-pane" aria-label="Bot details">
          {selected === 'new' ? (
            <BotEditor
              key="new"
              api={api}
              bot={null}
              botIds={bots?.map((bot) => bot.id) ?? []}
              webhooks={webhooks}
              models={models}
              onSaved={async (id) => {
                await reload()
                setCreated(id)
                navigate('bots', id)
              }}
              onDeleted={reload}
            />
          ) : current ? (
            <BotEditor
              key={current.id}
              api={api}
              bot={current}
              botIds={bots?.map((bot) => bot.id) ?? []}
              created={created === current.id}
              webhooks={webhooks}
              models={models}
              onSaved={async (id) => {
                await reload()
                if (id === current.id) return
                setCreated(id)
                navigate('bots', id)
              }}
              onDeleted={async () => {
                await reload()
                navigate('bots')
              }}
            />
          ) : selected && bots ? (
            <Notice kind="error">Bot "{selected}" does not exist.</Notice>
          ) : (
            <p class="muted empty-detail">Pick a bot to edit and try it, or create a new one.</p>
          )}
        </section>
      </div>
    </div>
  )
}
