export interface Theme {
  /** Brand colour: launcher, header, the visitor's bubbles. */
  color: string
  /** Text on the brand colour: white, or near-black on a light brand colour. */
  onColor: string
  /** The brand colour where it is text on white, darkened to black when too light to read. */
  ink: string
}

export const DEFAULT_COLOR = '#4f46e5'
const DARK = '#1f2330'

/**
 * Any CSS colour a canvas accepts; anything else (including attempts to smuggle in more CSS)
 * leaves the canvas at the default. What goes into the stylesheet is the canvas's own
 * `#rrggbb` or `rgba(…)`, never the attribute's text.
 */
export function resolveTheme(color: string | null | undefined): Theme {
  let value = DEFAULT_COLOR
  try {
    const ctx = document.createElement('canvas').getContext('2d')!
    ctx.fillStyle = value
    ctx.fillStyle = color ?? ''
    value = String(ctx.fillStyle)
  } catch {}
  const l = luminance(value)
  // White and DARK give the same contrast at 0.215; 0.18 is where the colour on white drops
  // below 4.5:1.
  return { color: value, onColor: l > 0.215 ? DARK : '#fff', ink: l > 0.18 ? DARK : value }
}

/** WCAG relative luminance of `#rrggbb` or `rgb[a](r, g, b…)` (a canvas's fillStyle); 0 when unknown. */
export function luminance(color: string): number {
  const rgb = /^#[0-9a-f]{6}$/i.test(color)
    ? color.match(/\w\w/g)!.map((h) => Number.parseInt(h, 16))
    : /^rgba?\(/.test(color)
      ? color.match(/[\d.]+/g)!.map(Number)
      : []
  const [r = 0, g = 0, b = 0] = rgb.map((c) => {
    const s = c / 255
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
  })
  return 0.2126 * r + 0.7152 * g + 0.0722 * b
}
