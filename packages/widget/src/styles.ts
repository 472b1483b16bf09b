import type { Theme } from './theme.js'

/**
 * All of the widget's CSS. No rem (the host's leaks in through `html { font-size }`): text is in
 * em of `medium`, the visitor's default font size, and the rest in px,
 * `all: initial` on the host and on the root so no inherited property of the page gets in,
 * and no inline style attribute anywhere: a page with `style-src 'self'` blocks those.
 * Each line ends in `\`, a line continuation: the rules stay one a line here and the bundle
 * carries no newlines (26 B gzipped).
 */
export function widgetCss(theme: Theme, inline: boolean): string {
  return `\
:host{all:initial${inline ? ';display:block;height:560px' : '!important'}}\
.joon{all:initial;display:block;height:100%;--c:${theme.color};--on:${theme.onColor};--ink:${theme.ink};font:medium/1.45 system-ui,sans-serif;color:#1f2330;-webkit-text-size-adjust:100%;text-size-adjust:100%}\
*{box-sizing:border-box}\
[hidden]{display:none!important}\
button,input{font:inherit;color:inherit;letter-spacing:inherit;margin:0}\
button{padding:0;border:0;background:none;cursor:pointer;-webkit-tap-highlight-color:transparent}\
:focus-visible{outline:2px solid var(--ink);outline-offset:2px}\
.head :focus-visible{outline-color:var(--on)}\
svg{display:block;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}\
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
.launcher,.icon,.send{display:grid;place-items:center;border-radius:50%}\
.launcher,.panel{position:fixed;z-index:2147483000}\
.launcher,.head,.user .msg,.send,.primary{background:var(--c);color:var(--on)}\
.launcher{bottom:20px;right:20px;width:60px;height:60px;box-shadow:0 6px 20px rgba(15,18,30,.28)}\
.launcher:focus-visible{box-shadow:0 0 0 2px #fff}\
.launcher svg{width:28px;height:28px}\
.badge{position:absolute;top:-3px;right:-3px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;border:2px solid #fff;background:#d6336c;color:#fff;font-size:.75em;font-weight:700;line-height:18px;text-align:center}\
.panel{bottom:96px;right:20px;width:380px;height:640px;max-height:calc(100vh - 120px);display:flex;flex-direction:column;overflow:hidden;background:#fff;font-size:.9375em;border-radius:16px;box-shadow:0 12px 48px rgba(15,18,30,.24);animation:joon-in .2s ease-out}\
.left .launcher,.left .panel{right:auto;left:20px}\
.full .panel,.inline .panel{width:100%;height:100%;max-height:none;animation:none}\
.full .panel{inset:0 auto auto 0;border-radius:0}\
.inline .panel{position:relative;inset:auto;border:1px solid #e3e6ec;border-radius:12px;box-shadow:none}\
@keyframes joon-in{from{opacity:0;transform:translateY(12px)}}\
.head{display:flex;align-items:center;gap:8px;min-height:60px;padding:10px 10px 10px 20px}\
.full .head{min-height:44px;padding-block:2px}\
.head h2{flex:1;margin:0;font-size:1.133em;font-weight:600;line-height:1.3;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\
.icon{width:40px;height:40px}\
.icon:hover{background:rgba(127,127,127,.22)}\
.icon svg{width:22px;height:22px}\
.scroll{flex:1;min-height:0;overflow-y:auto;overscroll-behavior:contain;padding:16px 14px 8px;background:#f6f7f9}\
.scroll:focus-visible{outline-offset:-2px}\
.group{display:flex;flex-direction:column;align-items:flex-start;gap:3px;margin:0 0 12px}\
.user{align-items:flex-end}\
.msg{max-width:85%;padding:9px 14px;border-radius:18px;white-space:pre-wrap;overflow-wrap:anywhere;animation:joon-pop .16s ease-out}\
.bot .msg{background:#fff;border:1px solid #e3e6ec}\
.bot .msg:not(:first-child){border-top-left-radius:6px}\
.bot .msg:not(:last-child){border-bottom-left-radius:6px}\
.user .msg:not(:first-child){border-top-right-radius:6px}\
.user .msg:not(:last-child){border-bottom-right-radius:6px}\
.user .failed{background:#fff;color:#1f2330;border:1px dashed #c92a2a}\
@keyframes joon-pop{from{opacity:0;transform:translateY(6px)}}\
.failure{display:flex;align-items:center;gap:6px;font-size:.867em;color:#c92a2a}\
.link{padding:2px 4px;font-weight:600;text-decoration:underline}\
.typing{display:inline-flex;gap:4px;padding:13px 14px;margin:0 0 12px;border:1px solid #e3e6ec;border-radius:18px;background:#fff}\
.typing i{width:7px;height:7px;border-radius:4px;background:#8a91a0;animation:joon-dot 1.2s infinite ease-in-out}\
.typing i+i{animation-delay:.15s}\
.typing i+i+i{animation-delay:.3s}\
@keyframes joon-dot{0%,60%,100%{opacity:.35;transform:none}30%{opacity:1;transform:translateY(-3px)}}\
.foot{display:flex;flex-direction:column;max-height:36%;padding:10px 12px 12px;border-top:1px solid #e3e6ec;background:#fff}\
.answer{display:flex;gap:8px}\
.answer input{flex:1;min-width:0;height:44px;padding:0 14px;border:1px solid #c9ced8;border-radius:22px;background:#fff;font-size:max(16px,1em);outline:0;-webkit-appearance:none;appearance:none}\
.answer input:focus{border-color:var(--ink);box-shadow:0 0 0 1px var(--ink)}\
.answer input[aria-invalid=true]{border-color:#c92a2a;box-shadow:0 0 0 1px #c92a2a}\
.answer input::placeholder{color:#6b7280;opacity:1}\
.send{flex:none;width:44px;height:44px}\
.send[aria-disabled=true]{opacity:.45;cursor:default}\
.send svg{width:20px;height:20px}\
.choices{min-width:0;min-height:0;margin:0;border:0;display:flex;flex-wrap:wrap;justify-content:flex-end;gap:8px;max-height:180px;overflow-y:auto;padding:4px}\
.choice{min-height:40px;padding:8px 16px;border:1.5px solid var(--ink);border-radius:20px;background:#fff;color:var(--ink);font-weight:600;overflow-wrap:anywhere}\
.choice:hover:not([aria-disabled=true]){background:var(--c);border-color:var(--c);color:var(--on)}\
.choice[aria-disabled=true]{opacity:.5;cursor:default}\
.notice{margin:0 0 10px;font-size:.933em;text-align:center;color:#495057}\
.primary{display:block;width:100%;height:44px;border-radius:22px;font-weight:600}\
@media (prefers-reduced-motion:reduce){*{animation:none!important}}\
@media (forced-colors:active){.panel,.launcher,.msg,.typing,.send{border:2px solid}.typing i{forced-color-adjust:none;background:CanvasText}}
`
}

/**
 * A constructable stylesheet: allowed by `style-src 'self'`, unlike a <style> element. Browsers
 * without one (Safari before 16.4) get a <style> element, which a strict CSP may block.
 */
export function adoptStyles(root: ShadowRoot, css: string): () => void {
  if (root.adoptedStyleSheets) {
    const sheet = new CSSStyleSheet()
    sheet.replaceSync(css)
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet]
    return () => {
      root.adoptedStyleSheets = root.adoptedStyleSheets.filter((s) => s !== sheet)
    }
  }
  const style = document.createElement('style')
  style.textContent = css
  root.prepend(style)
  return () => style.remove()
}
