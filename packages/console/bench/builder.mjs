// The flow builder with big bots, in Chromium through the real `joon serve` (built dist):
// - open + first layout: from navigating to a bot until its canvas shows laid-out blocks, for
//   a 500-block bot without saved positions (dagre lays it out) and, as the baseline measured
//   in the same run, a 5-block bot;
// - dragging a node and panning the canvas of the 500-block bot: frames per second and the
//   95th-percentile frame time while the mouse moves (rAF timestamps in the page).
// Prints a JSON line per measurement (read by tools/bench.mjs).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const TOKEN = 'bench-admin-token-0123456789'
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const cli = fileURLToPath(new URL('../../server/dist/cli.js', import.meta.url))

/** A bot of `count` blocks that branches every few blocks, without a layout. */
function bigBot(id, count) {
  const ids = Array.from({ length: count }, (_, index) => `b${index + 1}`)
  const blocks = ids.map((blockId, index) => {
    const next = ids[index + 1]
    if (index % 7 === 0 && index + 3 < count) {
      return {
        id: blockId,
        type: 'buttons',
        text: `Question ${index + 1}?`,
        choices: [
          { label: 'One', next: ids[index + 1] },
          { label: 'Two', next: ids[index + 2] },
          { label: 'Three', next: ids[index + 3] },
        ],
      }
    }
    if (index % 5 === 4) {
      return {
        id: blockId,
        type: 'question',
        answer: 'text',
        text: `Step ${index + 1}?`,
        ...(next ? { next } : {}),
      }
    }
    return { id: blockId, type: 'text', text: `Message ${index + 1}`, ...(next ? { next } : {}) }
  })
  return { id, start: ids[0], blocks }
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function startJoon() {
  const dir = mkdtempSync(join(tmpdir(), 'joon-builder-bench-'))
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data', join(dir, 'joon.db')],
    {
      env: { ...process.env, JOON_ADMIN_TOKEN: TOKEN, JOON_RATE_LIMIT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      if (/listening on/.test(String(chunk))) resolve()
    })
    child.on('exit', (code) => reject(new Error(`joon serve exited ${code}`)))
  })
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true })
          resolve()
        })
        child.kill('SIGTERM')
      }),
  }
}

async function putBot(url, bot) {
  const response = await fetch(`${url}/api/v1/admin/bots/${bot.id}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(bot),
  })
  if (!response.ok) throw new Error(`PUT ${bot.id}: ${response.status} ${await response.text()}`)
}

/** Milliseconds from navigating to the bot until its canvas shows its laid-out blocks. */
async function openTime(page, url, id) {
  await page.goto(`${url}/admin#/webhooks`)
  await page.getByRole('navigation', { name: 'Sections' }).waitFor()
  const started = Date.now()
  await page.goto(`${url}/admin#/bots/${id}`)
  await page.waitForFunction(() => {
    const viewport = document.querySelector('.react-flow__viewport')
    const nodes = document.querySelectorAll('.react-flow__node')
    // Laid out and placed: nodes drawn, measured (visible), and the view set.
    return nodes.length > 0 && viewport && getComputedStyle(nodes[0]).visibility !== 'hidden'
  })
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve())))
  return Date.now() - started
}

/** Frame times (ms) while `move` runs, from requestAnimationFrame in the page. */
async function frames(page, move) {
  await page.evaluate(() => {
    const times = []
    window.__frames = times
    const tick = (time) => {
      times.push(time)
      if (window.__frames === times) requestAnimationFrame(tick)
    }
    requestAnimationFrame(tick)
  })
  await move()
  const times = await page.evaluate(() => {
    const times = window.__frames
    window.__frames = null
    return times
  })
  const gaps = times
    .slice(1)
    .map((time, index) => time - times[index])
    .sort((a, b) => a - b)
  const seconds = (times.at(-1) - times[0]) / 1000
  return {
    fps: Math.round((times.length - 1) / seconds),
    p95FrameMs: Number(gaps[Math.floor(gaps.length * 0.95)]?.toFixed(1) ?? 0),
  }
}

async function drag(page, from, to) {
  await page.mouse.move(from.x, from.y)
  await page.mouse.down()
  for (let step = 1; step <= 60; step++) {
    await page.mouse.move(
      from.x + ((to.x - from.x) * step) / 60,
      from.y + ((to.y - from.y) * step) / 60,
    )
    await page.waitForTimeout(16)
  }
  await page.mouse.up()
}

const joon = await startJoon()
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--no-first-run',
  ],
})
try {
  await putBot(joon.url, bigBot('big', 500))
  await putBot(joon.url, bigBot('small', 5))
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
  const page = await context.newPage()
  await page.goto(`${joon.url}/admin`)
  await page.getByLabel('Admin token').fill(TOKEN)
  await page.keyboard.press('Enter')
  await page.getByRole('navigation', { name: 'Sections' }).waitFor()

  // Alternating rounds, best of each: the machine is shared and noisy.
  const small = []
  const big = []
  for (let round = 0; round < ROUNDS; round++) {
    small.push(await openTime(page, joon.url, 'small'))
    big.push(await openTime(page, joon.url, 'big'))
  }
  const best = (list) => Math.min(...list)
  console.log(
    JSON.stringify({
      name: 'builder: open + first layout, 500 blocks',
      ms: best(big),
      baselineMs: best(small),
      baseline: '5-block bot',
      ratio: Number((best(big) / best(small)).toFixed(2)),
    }),
  )

  const node = page.locator('.react-flow__node').first()
  const box = await node.boundingBox()
  const dragged = await frames(page, () =>
    drag(page, { x: box.x + 30, y: box.y + 15 }, { x: box.x + 330, y: box.y + 215 }),
  )
  console.log(JSON.stringify({ name: 'builder: node drag, 500 blocks', ...dragged }))

  // An empty spot of the canvas to grab: a drag there pans.
  const spot = await page.evaluate(() => {
    const pane = document.querySelector('.react-flow__pane').getBoundingClientRect()
    for (let y = pane.top + 20; y < pane.bottom - 20; y += 20) {
      for (let x = pane.left + pane.width / 2; x < pane.right - 20; x += 20) {
        if (document.elementFromPoint(x, y)?.classList.contains('react-flow__pane')) return { x, y }
      }
    }
    return { x: pane.left + pane.width / 2, y: pane.top + 20 }
  })
  const panned = await frames(page, () => drag(page, spot, { x: spot.x - 400, y: spot.y + 150 }))
  console.log(JSON.stringify({ name: 'builder: pan, 500 blocks', ...panned }))
} finally {
  await browser.close()
  await joon.stop()
}
