import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError, createAdminClient, messageOf } from '../api.js'
import { Notice } from './Notice.js'

/** Checks the token against the admin API before keeping it. */
export function SignIn({
  notice,
  onSignIn,
}: {
  notice: string | null
  onSignIn: (token: string) => void
}) {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => {
    document.title = 'Sign in · Joon console'
    input.current?.focus()
  }, [])

  const submit = async (event: Event) => {
    event.preventDefault()
    const candidate = token.trim()
    if (!candidate) {
      setError('Enter the admin token.')
      input.current?.focus()
      return
    }
    setBusy(true)
    setError(null)
    try {
      await createAdminClient({ token: candidate }).listWebhooks()
      onSignIn(candidate)
    } catch (caught) {
      setBusy(false)
      setError(
        caught instanceof ApiError && caught.status === 401
          ? 'That token was refused. Use the value of JOON_ADMIN_TOKEN.'
          : caught instanceof ApiError && caught.code === 'admin_disabled'
            ? 'The admin API is disabled on this server: start it with JOON_ADMIN_TOKEN set.'
            : messageOf(caught),
      )
      input.current?.focus()
    }
  }

  return (
    <main class="signin" id="main">
      <form class="card signin-card" onSubmit={submit} noValidate aria-labelledby="signin-title">
        <h1 id="signin-title">Joon console</h1>
        <p class="muted">Sign in with the server's admin token.</p>
        {notice && !error ? <Notice kind="info">{notice}</Notice> : null}
        {error ? <Notice kind="error">{error}</Notice> : null}
        <label for="token">Admin token</label>
        <input
          id="token"
          ref={input}
          type="password"
          autocomplete="current-password"
          spellcheck={false}
          value={token}
          aria-invalid={error ? true : undefined}
          onInput={(event) => setToken(event.currentTarget.value)}
        />
        <p class="hint">Kept in this tab only (sessionStorage) and sent as a bearer token.</p>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  )
}
