import { Hono } from 'hono'
import { html } from 'hono/html'
import { SHOP_CSS } from './shop-css.js'

/** One page of the shop, each embedding one bot with the one script tag a site owner copies. */
export interface ShopPage {
  path: string
  bot: string
  nav: string
  title: string
  /** What the visitor can try with this page's bot. */
  tryIt: string
  body: ReturnType<typeof html>
}

export const SHOP_PAGES: readonly ShopPage[] = [
  {
    path: '/',
    bot: 'lead-gen',
    nav: 'Shop',
    title: 'Tools for every plan',
    tryIt:
      'Open the chat bubble: pick a button, give an email and a phone number. The lead goes to the owner’s API by an asynchronous webhook; watch it arrive on the leads page.',
    body: html`<section class="products" aria-label="Products">
      ${[
        ['Anvil, 50 kg', 'Drop-forged, ships flat-packed.', '€89', 'anvil'],
        ['Rocket skates', 'Zero to sixty in one second.', '€249', 'skates'],
        ['Giant magnet', 'Picks up anything made of iron.', '€129', 'magnet'],
      ].map(
        ([name, blurb, price, kind]) => html`<article class="product">
          <div class="picture ${kind}" aria-hidden="true"></div>
          <h2>${name}</h2>
          <p>${blurb}</p>
          <p class="price">${price}</p>
          <button type="button" class="buy">Add to cart</button>
        </article>`,
      )}
    </section>`,
  },
  {
    path: '/orders',
    bot: 'order-status',
    nav: 'My order',
    title: 'Where is my order?',
    tryIt:
      'Open the chat bubble and type order number 1001. A synchronous webhook asks the owner’s API, which answers with two messages (“Good morning John”, then where the order is), 2 seconds of typing each.',
    body: html`<section class="panel">
      <p>Your order number is in your confirmation email. Our assistant finds it in seconds.</p>
      <ol class="steps">
        <li><strong>Ordered</strong> We received it.</li>
        <li><strong>Packed</strong> It left our warehouse.</li>
        <li><strong>On the way</strong> To your door or pickup point.</li>
      </ol>
    </section>`,
  },
  {
    path: '/delivery',
    bot: 'delivery-status',
    nav: 'Delivery',
    title: 'Track a parcel',
    tryIt:
      'Open the chat bubble and type tracking number ACME-42 (or ACME-7). A synchronous webhook answers {"delivery_status", "delivery_method"}; Joon merges them into the conversation and the next text block shows them.',
    body: html`<section class="panel">
      <p>Express courier, standard shipping or a pickup point near you: every parcel is tracked.</p>
      <ul class="methods">
        <li><strong>Express courier</strong> Next working day.</li>
        <li><strong>Standard shipping</strong> Two to four days.</li>
        <li><strong>Pickup point</strong> Free, collect with an ID.</li>
      </ul>
    </section>`,
  },
]

export interface ShopOptions {
  /** The owner's leads page, linked from the shop. */
  leadsUrl: string
}

/**
 * The Acme shop: plain server-rendered pages, as any site that embeds the widget. It is
 * mounted beside Joon's API (`startNodeServer({ site })`), so `/widget.js` and the chat API
 * share its origin. The pages send a strict Content-Security-Policy (no inline script or
 * style anywhere), which the widget works under.
 */
export function createShop(options: ShopOptions) {
  // No app-wide middleware: this app is merged into Joon's, where it would run for the API too.
  const app = new Hono()
  for (const page of SHOP_PAGES) {
    app.get(page.path, (c) => {
      c.header('content-security-policy', CSP)
      return c.html(shopPage(page, options))
    })
  }
  app.get('/shop.css', (c) => {
    c.header('cache-control', 'no-cache')
    return c.body(SHOP_CSS, 200, { 'content-type': 'text/css; charset=utf-8' })
  })
  app.get('/favicon.svg', (c) =>
    c.body(FAVICON, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'max-age=86400' }),
  )
  return app
}

const CSP =
  "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#c2410c"/><path d="M9 24 16 7l7 17h-4l-1.3-3.5h-3.4L13 24Zm5.6-7h2.8L16 13Z" fill="#fff"/></svg>'

function shopPage(page: ShopPage, options: ShopOptions) {
  const snippet = `<script src="/widget.js" data-bot="${page.bot}" defer></script>`
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${page.title} · Acme shop</title>
    <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
    <link rel="stylesheet" href="/shop.css" />
    <script src="/widget.js" data-bot="${page.bot}" defer></script>
  </head>
  <body>
    <header class="top">
      <a class="logo" href="/">Acme</a>
      <nav aria-label="Shop">
        ${SHOP_PAGES.map(
          (other) =>
            html`<a href="${other.path}" ${other.path === page.path ? html`aria-current="page"` : ''}>${other.nav}</a>`,
        )}
      </nav>
    </header>
    <main>
      <h1>${page.title}</h1>
      ${page.body}
      <aside class="demo-note" aria-label="About this demo">
        <h2>Joon demo: the <code>${page.bot}</code> bot</h2>
        <p>${page.tryIt}</p>
        <p>This page embeds it with one line, the one you would copy into your own site:</p>
        <pre><code>${snippet}</code></pre>
        <p>
          Other bots: ${SHOP_PAGES.filter((other) => other !== page).map(
            (other, index) =>
              html`${index > 0 ? ' · ' : ''}<a href="${other.path}">${other.bot}</a>`,
          )}.
          Leads received by the owner’s API: <a href="${options.leadsUrl}">${options.leadsUrl}</a>.
        </p>
      </aside>
    </main>
  </body>
</html>
`
}
