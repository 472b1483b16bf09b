import type { Bot } from '@joon/core'
import { useCallback, useEffect, useState } from 'preact/hooks'
import { type AdminClient, ApiError, messageOf, type RegisteredModel } from '../api.js'
import { href, navigate } from '../route.js'
import { ModelForm } from './ModelForm.js'
import { Notice } from './Notice.js'

/** Registered models (what AI blocks call) on the left, the selected one (or a new one) in the form. */
export function ModelsPage({ api, selected }: { api: AdminClient; selected: string | null }) {
  const [models, setModels] = useState<RegisteredModel[] | null>(null)
  const [bots, setBots] = useState<Bot[]>([])
  const [error, setError] = useState<string | null>(null)
  /** The model just created: its form (a new instance) says so and takes focus. */
  const [created, setCreated] = useState<{ name: string; warnings: string[] } | null>(null)

  const reload = useCallback(async () => {
    try {
      const [loadedModels, loadedBots] = await Promise.all([api.listModels(), api.listBots()])
      setModels(loadedModels)
      setBots(loadedBots)
      setError(null)
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.status === 404
          ? 'This server has no models API: update Joon to register models for AI blocks.'
          : messageOf(caught),
      )
    }
  }, [api])
  useEffect(() => {
    void reload()
  }, [reload])

  const usedBy = (name: string) =>
    bots
      .filter((bot) => bot.blocks.some((block) => block.type === 'ai' && block.model === name))
      .map((bot) => bot.id)
  const current = selected === 'new' ? null : models?.find((model) => model.name === selected)

  return (
    <div class="page">
      <div class="page-head">
        <h1 tabIndex={-1}>Models</h1>
        <a class="button primary" href={href('models', 'new')}>
          New model
        </a>
      </div>
      {error ? <Notice kind="error">{error}</Notice> : null}
      <div class="split">
        <section class="list-pane" aria-labelledby="model-list-title">
          <h2 id="model-list-title" class="visually-hidden">
            Registered models
          </h2>
          {models === null ? (
            error ? null : (
              <p class="muted">Loading…</p>
            )
          ) : models.length === 0 ? (
            <p class="muted">
              No model yet. Register an OpenAI-compatible API to use it in AI blocks.
            </p>
          ) : (
            <ul class="item-list">
              {models.map((model) => {
                const users = usedBy(model.name)
                return (
                  <li key={model.name}>
                    <a
                      class="item-link"
                      href={href('models', model.name)}
                      aria-current={model.name === selected ? 'true' : undefined}
                    >
                      <span class="item-title">{model.name}</span>
                      <span class="item-sub mono">{model.model}</span>
                      <span class="item-sub">{model.baseUrl}</span>
                      <span class="item-sub">
                        {users.length === 0 ? 'Not used by any bot' : `Used by ${users.join(', ')}`}
                      </span>
                    </a>
                  </li>
                )
              })}
            </ul>
          )}
        </section>
        <section class="detail-pane" aria-label="Model details">
          {selected === 'new' ? (
            <ModelForm
              key="new"
              api={api}
              model={null}
              usedBy={[]}
              onSaved={async (name, warnings) => {
                await reload()
                setCreated({ name, warnings })
                navigate('models', name)
              }}
              onDeleted={reload}
            />
          ) : current ? (
            <ModelForm
              key={current.name}
              api={api}
              model={current}
              created={created?.name === current.name}
              createdWarnings={created?.name === current.name ? created.warnings : []}
              usedBy={usedBy(current.name)}
              onSaved={reload}
              onDeleted={async () => {
                await reload()
                navigate('models')
              }}
            />
          ) : selected && models ? (
            <Notice kind="error">Model "{selected}" does not exist.</Notice>
          ) : (
            <p class="muted empty-detail">
              Pick a model to edit it, or register a new one. AI blocks call models by name.
            </p>
          )}
        </section>
      </div>
    </div>
  )
}
