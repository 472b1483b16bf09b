import { useEffect, useRef } from 'preact/hooks'

/**
 * Calls `load` now and then every `intervalMs` while the page is visible (a hidden tab costs
 * the server nothing), and at once when it becomes visible again. One call at a time.
 * `load` receives `isCurrent`: false once the deps changed, so a late answer to an old
 * filter never overwrites the new one.
 */
export function usePolling(
  load: (isCurrent: () => boolean) => Promise<void>,
  intervalMs: number,
  deps: readonly unknown[],
): void {
  const latest = useRef(load)
  latest.current = load
  useEffect(() => {
    let active = true
    let running = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const isCurrent = () => active
    const tick = async () => {
      clearTimeout(timer)
      if (!active || running) return
      if (document.visibilityState === 'visible') {
        running = true
        try {
          await latest.current(isCurrent)
        } catch {
          // `load` shows its own errors; polling goes on.
        } finally {
          running = false
        }
      }
      if (active) timer = setTimeout(tick, intervalMs)
    }
    const onVisibility = () => {
      if (document.visibilityState === 'visible') void tick()
    }
    void tick()
    document.addEventListener('visibilitychange', onVisibility)
    return () => {
      active = false
      clearTimeout(timer)
      document.removeEventListener('visibilitychange', onVisibility)
    }
  }, deps)
}
