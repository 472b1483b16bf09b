import type { ComponentChildren } from 'preact'

/**
 * A message for the operator. Errors are alerts (announced at once); the rest are polite
 * status messages.
 */
export function Notice({
  kind,
  children,
  id,
}: {
  kind: 'error' | 'success' | 'info'
  children: ComponentChildren
  id?: string
}) {
  return (
    <div id={id} class={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  )
}
