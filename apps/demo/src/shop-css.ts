/** The shop's stylesheet, served as a file: the pages carry no inline style (strict CSP). */
export const SHOP_CSS = `
*, *::before, *::after { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1c1917; background: #fafaf9; }
body { margin: 0; }
a { color: #c2410c; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 32px; padding: 16px 40px; background: #1c1917; }
.logo { font-weight: 800; font-size: 24px; letter-spacing: 0.08em; text-transform: uppercase; color: #fb923c; text-decoration: none; }
.top nav { display: flex; flex-wrap: wrap; gap: 4px 24px; }
.top nav a { color: #e7e5e4; text-decoration: none; padding: 4px 0; border-bottom: 2px solid transparent; white-space: nowrap; }
.top nav a[aria-current="page"] { color: #fff; border-bottom-color: #fb923c; }
/* The bottom padding lets the page scroll clear of the chat bubble (60 px, 20 px from the corner). */
main { max-width: 1040px; margin: 0 auto; padding: 32px 40px 160px; }
h1 { font-size: 36px; margin: 8px 0 24px; }
.products { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 24px; }
.product { background: #fff; border: 1px solid #e7e5e4; border-radius: 12px; padding: 16px; }
.product h2 { font-size: 18px; margin: 12px 0 4px; }
.product p { margin: 4px 0; color: #57534e; }
.product .price { font-weight: 700; color: #1c1917; }
.picture { height: 140px; border-radius: 8px; }
.picture.anvil { background: linear-gradient(160deg, #78716c, #292524); }
.picture.skates { background: linear-gradient(160deg, #f97316, #b91c1c); }
.picture.magnet { background: linear-gradient(160deg, #ef4444, #1e3a8a); }
.buy { margin-top: 8px; font: inherit; padding: 8px 14px; border: 0; border-radius: 8px; background: #1c1917; color: #fff; cursor: pointer; }
.panel { background: #fff; border: 1px solid #e7e5e4; border-radius: 12px; padding: 8px 24px 16px; }
.steps, .methods { padding-left: 20px; line-height: 1.9; }
.steps strong, .methods strong { display: inline-block; min-width: 170px; }
.demo-note { margin-top: 32px; padding: 16px 24px; border-radius: 12px; background: #fff7ed; border: 1px dashed #fb923c; max-width: 720px; }
.demo-note h2 { font-size: 16px; margin: 8px 0; }
.demo-note p { line-height: 1.5; }
/* The snippet wraps rather than hiding its end at phone width: it is there to be read and copied. */
pre { background: #1c1917; color: #fafaf9; padding: 12px 16px; border-radius: 8px; white-space: pre-wrap; overflow-wrap: anywhere; }
code { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 14px; }
/* Phones, and narrow windows zoomed in. */
@media (max-width: 600px) {
  .top { padding: 12px 20px; gap: 4px 24px; }
  main { padding: 24px 20px 120px; }
  h1 { font-size: 28px; margin: 4px 0 16px; }
  .panel { padding: 4px 16px 12px; }
  .steps, .methods { line-height: 1.5; }
  .steps li, .methods li { margin-bottom: 8px; }
  .steps strong, .methods strong { display: block; min-width: 0; }
  .demo-note { padding: 12px 16px; }
}
`
