/** The element that has focus inside `el` (looked up in its own shadow root), if any. */
export function focusedIn(el: Element | null): Element | null {
  const active = (el?.getRootNode() as ShadowRoot | Document | undefined)?.activeElement
  return active && el?.contains(active) ? active : null
}

/** Focuses the control marked `data-primary` in `el`: what the visitor will use next. */
export function focusPrimary(el: Element | null): void {
  el?.querySelector<HTMLElement>('[data-primary]')?.focus()
}
