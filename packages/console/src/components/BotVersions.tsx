import type { Bot } from '@joon/core'
import { useEffect, useState } from 'preact/hooks'
import { type AdminClient, ApiError, messageOf, type BotVersions as Versions } from '../api.js'
import { formatTime } from '../format.js'
import { Notice } from './Notice.js'

const SOURCES = { console: 'the console', api: 'the API', file: 'its file' } as const

/**
 * A bot's saved versions, newest first, each restorable; and, for a bot that also lives in a
 * file, what happens to it at the next start.
 */
export function BotVersions({
  api,
  botId,
  refresh,
  onRestored,
}: {
  api: AdminClient
  botId: string
  /** Bumped after a save: the list is read again. */
  refresh: number
  onRestored: (bot: Bot) => void | Promise<void>
}) {
  const [versions, setVersions] = useState<Versions | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState<number | null>(null)

  useEffect(() => {
    let stopped = false
    api
      .listBotVersions(botId)
      .then((loaded) => {
        if (!stopped) {
          setVersions(loaded)
          setError(null)
        }
      })
      .catch((caught) => {
        if (stopped) return
        // A server without versions: say nothing rather than an error.
        if (caught instanceof ApiError && caught.status === 404) setVersions(null)
        else setError(messageOf(caught))
      })
    return () => {
      stopped = true
    }
  }, [api, botId, refresh])

  if (!versions && !error) return null
  const latest = versions?.versions[0]?.version

  return (
    <section class="card versions" aria-labelledby="versions-title">
      <h3 id="versions-title">Versions</h3>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {versions?.file ? (
        <p class="notice notice-info file-note">
          This bot also lives in the file <code>{versions.file.path}</code>. Your saves here are
          kept at the next start unless that file changes: then the file's content becomes the
          newest version, and every earlier version stays in this list.
        </p>
      ) : null}
      {versions ? (
        <ol class="version-list">
          {versions.versions.map((entry) => (
            <li key={entry.version} class="version-row">
              <div>
                <span class="item-title">
                  Version {entry.version}
                  {entry.version === latest ? (
                    <span class="badge badge-delivered">Current</span>
                  ) : null}
                </span>
                <span class="item-sub">
                  {formatTime(entry.savedAt)} from {SOURCES[entry.source] ?? entry.source} ·{' '}
                  {entry.blocks} block{entry.blocks === 1 ? '' : 's'}
                  {entry.live > 0
                    ? ` · ${entry.live} live conversation${entry.live === 1 ? '' : 's'}`
                    : ''}
                </span>
              </div>
              {entry.version === latest ? null : (
                <button
                  type="button"
                  disabled={busy !== null}
                  aria-label={`Restore version ${entry.version}`}
                  onClick={async () => {
                    setBusy(entry.version)
                    try {
                      const bot = await api.restoreBotVersion(botId, entry.version)
                      await onRestored(bot)
                    } catch (caught) {
                      setError(messageOf(caught))
                    } finally {
                      setBusy(null)
                    }
                  }}
                >
                  {busy === entry.version ? 'Restoring…' : 'Restore'}
                </button>
              )}
            </li>
          ))}
        </ol>
      ) : null}
    </section>
  )
}
