/**
 * The admin token lives in sessionStorage: it survives a reload, not the tab, and is never in
 * a URL or a cookie (so no CSRF, and nothing sent to any other path).
 */
const KEY = 'joon.console.token'

export function loadToken(): string | null {
  try {
    return sessionStorage.getItem(KEY)
  } catch {
    return null
  }
}

export function saveToken(token: string): void {
  try {
    sessionStorage.setItem(KEY, token)
  } catch {
    // Storage disabled: the console still works until the tab reloads.
  }
}

export function clearToken(): void {
  try {
    sessionStorage.removeItem(KEY)
  } catch {}
}
