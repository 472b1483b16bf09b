/** Below this width, or this height (a laptop at 200% zoom), the panel takes the whole screen. */
export const FULL_SCREEN_BELOW = 520
export const FULL_SCREEN_BELOW_HEIGHT = 480

/**
 * Decided in JS rather than by a media query: on a host page without a viewport meta tag the
 * layout viewport of a phone is 980 px wide, which no media query calls small, while
 * `screen.width` still says 390.
 */
export function isSmallScreen(): boolean {
  return (
    Math.min(window.innerWidth, window.screen?.width || Number.POSITIVE_INFINITY) <
      FULL_SCREEN_BELOW || window.innerHeight < FULL_SCREEN_BELOW_HEIGHT
  )
}

/** The visual viewport in layout px, and its zoom (< 1 on a page without a viewport meta). */
export type Viewport = Pick<
  VisualViewport,
  'offsetTop' | 'offsetLeft' | 'width' | 'height' | 'scale'
>

/**
 * Calls `onChange` with the (live) visual viewport now and whenever it moves or resizes. The
 * on-screen keyboard shrinks the visual viewport (not the layout one), so a full-screen panel
 * drawn in it keeps its answer box above the keyboard. Returns the unsubscribe.
 */
export function followVisualViewport(onChange: (viewport: Viewport) => void): () => void {
  const vv = window.visualViewport
  if (!vv) return () => {}
  const follow = () => onChange(vv)
  follow()
  return listen(vv, ['resize', 'scroll'], follow)
}

/** Adds `listener` for each of `types`; returns its removal. */
export function listen(target: EventTarget, types: string[], listener: () => void): () => void {
  for (const type of types) target.addEventListener(type, listener)
  return () => {
    for (const type of types) target.removeEventListener(type, listener)
  }
}

type Style = Record<string, string>

/**
 * Where the full-screen panel goes: exactly over the visual viewport. A page without a
 * viewport meta is shown zoomed out (scale ≈ 0.4), which would shrink the panel's 15 px text
 * to 6 px; it is laid out at the phone's real width and scaled back up instead.
 */
export function panelStyle({ offsetTop, offsetLeft, width, height, scale }: Viewport): Style {
  const k = Math.min(scale, 1)
  return {
    top: `${offsetTop}px`,
    left: `${offsetLeft}px`,
    width: `${width * k}px`,
    height: `${height * k}px`,
    transform: `scale(${1 / k})`,
    transformOrigin: '0 0',
  }
}

/** The launcher, scaled back up to its real size on a zoomed-out page. */
export function launcherStyle({ scale }: Viewport, position: 'left' | 'right'): Style | undefined {
  return scale < 1
    ? { transform: `scale(${1 / scale})`, transformOrigin: `${position} bottom` }
    : undefined
}
