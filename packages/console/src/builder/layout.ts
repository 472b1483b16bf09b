import dagre from '@dagrejs/dagre'
import { type BlockDoc, type BotDoc, blocksOf, linksOf, type Position, str } from './bot-doc.js'

/** A node's box on the canvas; the node is drawn at exactly this size. */
export const NODE_WIDTH = 224
const HEADER_HEIGHT = 64
const ROW_HEIGHT = 30
const FOOTER_HEIGHT = 10

/**
 * Rows a node shows below its header, each with its own handle (see `BlockNode`): one per
 * choice or rule plus the fallback, and a webhook's or AI block's "on error".
 */
export function rowsOf(block: BlockDoc): number {
  const count = (list: unknown) => (Array.isArray(list) ? list.length : 0)
  if (block.type === 'buttons') return count(block.choices) + 1
  if (block.type === 'condition') return count(block.rules) + 1
  if (block.type === 'webhook' || block.type === 'ai') return 1
  return 0
}

/** An AI block has one more line in its header: the model it uses. */
const LINE_HEIGHT = 18

export function nodeHeight(block: BlockDoc): number {
  const rows = rowsOf(block)
  const header = HEADER_HEIGHT + (block.type === 'ai' ? LINE_HEIGHT : 0)
  return header + rows * ROW_HEIGHT + (rows > 0 ? FOOTER_HEIGHT : 0)
}

/**
 * Positions for every block, left to right in flow order, with dagre (the layered layout
 * graph editors use): blocks that already have a position keep it; only the others are placed,
 * and never on top of a placed one. Deterministic: the same bot always gets the same layout.
 */
export function autoLayout(
  doc: BotDoc,
  known: ReadonlyMap<string, Position>,
): Map<string, Position> {
  const blocks = blocksOf(doc).filter((block) => str(block.id) !== '')
  const positions = new Map<string, Position>()
  const missing = blocks.filter((block) => !known.has(str(block.id)))
  for (const block of blocks) {
    const at = known.get(str(block.id))
    if (at) positions.set(str(block.id), at)
  }
  if (missing.length === 0) return positions

  const graph = new dagre.graphlib.Graph({ multigraph: true })
  graph.setGraph({ rankdir: 'LR', nodesep: 32, ranksep: 72, edgesep: 16, marginx: 0, marginy: 0 })
  graph.setDefaultEdgeLabel(() => ({}))
  const ids = new Set(blocks.map((block) => str(block.id)))
  for (const block of blocks) {
    graph.setNode(str(block.id), { width: NODE_WIDTH, height: nodeHeight(block) })
  }
  for (const block of blocks) {
    for (const link of linksOf(block)) {
      if (ids.has(link.to)) graph.setEdge(link.from, link.to, {}, link.source)
    }
  }
  dagre.layout(graph)

  // Dagre places centres; nodes are drawn from their top-left corner.
  const placed = new Map<string, Position>()
  for (const block of blocks) {
    const id = str(block.id)
    const node = graph.node(id)
    placed.set(id, { x: node.x - NODE_WIDTH / 2, y: node.y - nodeHeight(block) / 2 })
  }
  if (positions.size === 0) return placed

  // Some blocks were placed by hand: put the new ones below everything already there, in
  // dagre's arrangement, so none lands on a block the owner placed.
  const bottom = Math.max(
    ...blocks
      .filter((block) => positions.has(str(block.id)))
      .map((block) => (positions.get(str(block.id)) as Position).y + nodeHeight(block)),
  )
  const left = Math.min(...[...positions.values()].map((position) => position.x))
  const top = Math.min(...missing.map((block) => (placed.get(str(block.id)) as Position).y))
  const minX = Math.min(...missing.map((block) => (placed.get(str(block.id)) as Position).x))
  for (const block of missing) {
    const at = placed.get(str(block.id)) as Position
    positions.set(str(block.id), { x: left + at.x - minX, y: bottom + 80 + at.y - top })
  }
  return positions
}
