/** Below this width the panel takes the whole screen. */
export const FULL_SCREEN_BELOW = 520

/**
 * Decided in JS rather than by a media query: on a host page without a viewport meta tag the
 * layout viewport of a phone is 980 px wide, which no media query calls small, while
 * `screen.width` still says 390.
 */
export function isSmallScreen(): boolean {
  return (
    Math.min(window.innerWidth, window.screen?.width || Number.POSITIVE_INFINITY) <
    FULL_SCREEN_BELOW
  )
}

export type Box = Record<'top' | 'left' | 'width' | 'height', string>

/**
 * Calls `onChange` with the visual viewport's box now and whenever it moves or resizes. The
 * on-screen keyboard shrinks the visual viewport (not the layout one), so a full-screen panel
 * drawn in this box keeps its answer box above the keyboard. Returns the unsubscribe.
 */
export function followVisualViewport(onChange: (box: Box) => void): () => void {
  const vv = window.visualViewport
  if (!vv) return () => {}
  const follow = () =>
    onChange({
      top: `${vv.offsetTop}px`,
      left: `${vv.offsetLeft}px`,
      width: `${vv.width}px`,
      height: `${vv.height}px`,
    })
  follow()
  vv.addEventListener('resize', follow)
  vv.addEventListener('scroll', follow)
  return () => {
    vv.removeEventListener('resize', follow)
    vv.removeEventListener('scroll', follow)
  }
}
