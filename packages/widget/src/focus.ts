/** Whether focus is on `el` or inside it (looked up in its own shadow root). */
export function hasFocusWithin(el: Element | null): boolean {
  const active = (el?.getRootNode() as ShadowRoot | Document | undefined)?.activeElement
  return !!active && !!el?.contains(active)
}

/** Focuses the control marked `data-primary` in `el`: what the visitor will use next. */
export function focusPrimary(el: Element | null): void {
  el?.querySelector<HTMLElement>('[data-primary]')?.focus()
}
