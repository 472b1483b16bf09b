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
 * Any CSS colour the browser accepts; anything else (including attempts to smuggle in more
 * CSS) falls back to the default. The canvas normalises it to hex or rgba() for the contrast.
 */
export function resolveTheme(color: string | null | undefined): Theme {
  const wanted = color?.trim() ?? ''
  const valid = wanted !== '' && globalThis.CSS?.supports?.('color', wanted) === true
  const value = valid ? wanted : DEFAULT_COLOR
  const l = luminance(normalise(value))
  // White and DARK give the same contrast at 0.215; 0.18 is where the colour on white drops
  // below 4.5:1.
  return { color: value, onColor: l > 0.215 ? DARK : '#fff', ink: l > 0.18 ? DARK : value }
}

function normalise(color: string): string {
  try {
    const ctx = document.createElement('canvas').getContext('2d')
    if (ctx) {
      ctx.fillStyle = color
      return String(ctx.fillStyle)
    }
  } catch {}
  return color
}

/** WCAG relative luminance of `#rrggbb` or `rgb[a](r, g, b…)`; 0 when unknown. */
export function luminance(color: string): number {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color)
  const rgb = hex
    ? hex.slice(1).map((h) => Number.parseInt(h, 16))
    : /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/.exec(color)?.slice(1).map(Number)
  if (!rgb || rgb.length < 3) return 0
  const [r, g, b] = rgb.map((c) => {
    const s = c / 255
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
  }) as [number, number, number]
  return 0.2126 * r + 0.7152 * g + 0.0722 * b
}
