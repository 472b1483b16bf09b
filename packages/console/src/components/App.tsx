import { useMemo, useState } from 'preact/hooks'
import { createAdminClient } from '../api.js'
import { clearToken, loadToken, saveToken } from '../session.js'
import { Shell } from './Shell.js'
import { SignIn } from './SignIn.js'

/** Signed out: the sign-in form. Signed in: the console, until sign-out or a refused token. */
export function App() {
  const [token, setToken] = useState(loadToken)
  const [notice, setNotice] = useState<string | null>(null)
  const api = useMemo(
    () =>
      token
        ? createAdminClient({
            token,
            onUnauthorized: () => {
              clearToken()
              setToken(null)
              setNotice('The server refused the admin token. Sign in again.')
            },
          })
        : null,
    [token],
  )
  if (!api) {
    return (
      <SignIn
        notice={notice}
        onSignIn={(accepted) => {
          saveToken(accepted)
          setNotice(null)
          setToken(accepted)
        }}
      />
    )
  }
  return (
    <Shell
      api={api}
      onSignOut={() => {
        clearToken()
        setNotice('Signed out.')
        setToken(null)
      }}
    />
  )
}
