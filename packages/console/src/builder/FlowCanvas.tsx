import {
  type Connection,
  Controls,
  type Edge,
  type EdgeChange,
  type FinalConnectionState,
  MarkerType,
  MiniMap,
  type Node,
  type NodeChange,
  ReactFlow,
  useReactFlow,
} from '@xyflow/react'
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { BlockNode, type BlockNodeData, nodeName } from './BlockNode.js'
import {
  type BotDoc,
  blocksOf,
  deleteBlock,
  flowOrder,
  type Link,
  type LinkSource,
  linksOf,
  type Position,
  setLink,
  setPosition,
  str,
  withFullLayout,
} from './bot-doc.js'
import { NODE_WIDTH, nodeHeight } from './layout.js'

export interface CanvasChange {
  doc: BotDoc
  label: string
  /** What a screen reader hears. */
  announce: string
}

const nodeTypes = { block: BlockNode }

/** From this many blocks a minimap is shown. */
const BIG_BOT = 12
/** From this many blocks only the blocks in view are drawn (measured: 500 open in 0.55 s). */
const HUGE_BOT = 300
const FIT_VIEW = { padding: 0.1, maxZoom: 1 }
/**
 * The whole flow is shown while it fits at this zoom or more (small, but every block can still
 * be told apart and clicked); a longer flow is shown in part, at `READABLE_ZOOM`.
 */
const FIT_ZOOM = 0.35
const READABLE_ZOOM = 0.7
/** How far Alt+arrow moves a node. */
const KEY_STEP = 24

const ARIA = {
  'node.a11yDescription.default':
    'Enter opens its settings. Arrow keys go to the blocks it links to (right) or from (left). Alt and an arrow key move it. Delete removes it.',
  'node.a11yDescription.keyboardDisabled':
    'Enter opens its settings. Arrow keys go to linked blocks. Delete removes it.',
  'edge.a11yDescription.default': 'Click a link, then press Delete to remove it.',
  'controls.ariaLabel': 'Canvas controls',
  'controls.zoomIn.ariaLabel': 'Zoom in',
  'controls.zoomOut.ariaLabel': 'Zoom out',
  'controls.fitView.ariaLabel': 'Fit to screen',
  'controls.interactive.ariaLabel': 'Lock or unlock the canvas',
  'minimap.ariaLabel': 'Minimap',
  'handle.ariaLabel': 'Link handle',
}

function linkName(link: Link): string {
  const via = link.label ? ` (${link.label})` : ''
  return `Link from ${link.from}${via} to ${link.to}`
}

export interface FocusRequest {
  id: string
  n: number
  focus: boolean
}

/** Block ids never hold ":" (contract), so this names each way out of each block once. */
const edgeId = (from: string, source: string) => `${from}:${source}`

export function FlowCanvas({
  doc,
  positions,
  problems,
  waiting,
  reached,
  selectedId,
  readOnly,
  onSelect,
  onOpenSettings,
  onChange,
  focusRequest,
  viewKey,
}: {
  /** Where this bot's view (pan and zoom) is kept for the tab: a reload shows the same. */
  viewKey: string | null
  doc: BotDoc
  /** Every block's position: the saved layout, completed by the automatic one. */
  positions: ReadonlyMap<string, Position>
  problems: ReadonlyMap<string, string[]>
  waiting: Readonly<Record<string, number>> | null
  /** Conversations that reached each block (the results funnel), when known. */
  reached: ReadonlyMap<string, number> | null
  selectedId: string | null
  readOnly: boolean
  onSelect: (id: string | null) => void
  onOpenSettings: () => void
  onChange: (change: CanvasChange) => void
  /** Bumped to bring a node into view, and to move the focus to it when `focus`. */
  focusRequest: FocusRequest | null
}) {
  const flow = useReactFlow()
  const wrapper = useRef<HTMLDivElement>(null)
  const [dragging, setDragging] = useState<ReadonlyMap<string, Position>>(new Map())
  const [selectedEdges, setSelectedEdges] = useState<ReadonlySet<string>>(new Set())
  const nodeCache = useRef(new Map<string, { inputs: unknown[]; node: Node }>())

  const blocks = blocksOf(doc)
  const order = useMemo(() => flowOrder(doc), [doc])
  const start = str(doc.start)

  const nodes = useMemo(() => {
    const byId = new Map(blocks.map((block) => [str(block.id), block]))
    const cache = nodeCache.current
    const built: Node[] = []
    for (const id of order) {
      const block = byId.get(id)
      if (!block) continue
      const position = dragging.get(id) ?? positions.get(id) ?? { x: 0, y: 0 }
      const blockProblems = problems.get(id) ?? []
      const inputs = [
        block,
        id === start,
        blockProblems.join('\n'),
        waiting?.[id] ?? null,
        reached?.get(id) ?? null,
        position.x,
        position.y,
        id === selectedId,
        readOnly,
      ]
      const cached = cache.get(id)
      if (cached?.inputs.every((value, index) => value === inputs[index])) {
        built.push(cached.node)
        continue
      }
      const data: BlockNodeData = {
        block,
        isStart: id === start,
        problems: blockProblems,
        waiting: waiting?.[id] ?? null,
        reached: reached ? (reached.get(id) ?? 0) : null,
      }
      const height = nodeHeight(block)
      const node: Node = {
        id,
        type: 'block',
        position,
        data,
        width: NODE_WIDTH,
        height,
        selected: id === selectedId,
        draggable: !readOnly,
        connectable: !readOnly,
        ariaLabel: nodeName(data),
        // Its size is set, so it is known: a rebuilt node given no `measured` would lose its
        // handles' bounds and its links until React Flow measured it again (a race that left
        // links undrawn). A choice or rule added or removed changes the height, and React Flow
        // measures the handles again on every resize.
        measured: { width: NODE_WIDTH, height },
      }
      cache.set(id, { inputs, node })
      built.push(node)
    }
    for (const id of cache.keys()) if (!byId.has(id)) cache.delete(id)
    return built
  }, [blocks, order, positions, dragging, problems, waiting, reached, selectedId, start, readOnly])

  const edges = useMemo(() => {
    const ids = new Set(order)
    const built: Edge[] = []
    for (const block of blocks) {
      for (const link of linksOf(block)) {
        if (!ids.has(link.to)) continue
        const id = edgeId(link.from, link.source)
        built.push({
          id,
          source: link.from,
          sourceHandle: link.source,
          target: link.to,
          targetHandle: 'in',
          ...(link.label ? { label: link.label } : {}),
          className: link.source === 'onError' ? 'edge-error' : undefined,
          selected: selectedEdges.has(id),
          deletable: !readOnly,
          markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 },
          ariaLabel: linkName(link),
          labelBgPadding: [6, 3] as [number, number],
          labelBgBorderRadius: 4,
        } as Edge)
      }
    }
    return built
  }, [blocks, order, selectedEdges, readOnly])

  const onNodesChange = useCallback(
    (changes: NodeChange[]) => {
      let moved: Map<string, Position> | null = null
      for (const change of changes) {
        if (change.type === 'position' && change.position) {
          moved ??= new Map(dragging)
          moved.set(change.id, change.position)
        }
      }
      // Selecting one node deselects the other in the same batch, in either order.
      const selects = changes.filter((change) => change.type === 'select')
      const chosen = selects.find((change) => change.selected)
      if (chosen) {
        onSelect(chosen.id)
        setSelectedEdges(new Set())
      } else if (selects.some((change) => change.id === selectedId)) onSelect(null)
      if (moved) setDragging(moved)
    },
    [dragging, onSelect, selectedId],
  )

  const onEdgesChange = useCallback(
    (changes: EdgeChange[]) => {
      // One thing selected at a time: a link, or a block.
      if (changes.some((change) => change.type === 'select' && change.selected)) onSelect(null)
      setSelectedEdges((current) => {
        let next: Set<string> | null = null
        for (const change of changes) {
          if (change.type !== 'select') continue
          next ??= new Set(current)
          if (change.selected) next.add(change.id)
          else next.delete(change.id)
        }
        return next ?? current
      })
    },
    [onSelect],
  )

  const onNodeDragStop = useCallback(
    (_event: unknown, _node: Node, draggedNodes: Node[]) => {
      if (dragging.size === 0) return
      setDragging(new Map())
      // A click is a drag that went nowhere: nothing to record.
      const moved = draggedNodes.filter((node) => {
        const from = positions.get(node.id)
        return !from || Math.abs(from.x - node.position.x) + Math.abs(from.y - node.position.y) >= 1
      })
      if (moved.length === 0) return
      let next = withFullLayout(doc, positions)
      for (const node of moved) next = setPosition(next, node.id, node.position)
      const names = moved.map((node) => node.id).join(', ')
      onChange({ doc: next, label: `move ${names}`, announce: `Moved ${names}.` })
    },
    [doc, dragging, positions, onChange],
  )

  const onConnect = useCallback(
    (connection: Connection) => {
      if (!connection.sourceHandle) return
      const next = setLink(
        doc,
        connection.source,
        connection.sourceHandle as LinkSource,
        connection.target,
      )
      onChange({
        doc: next,
        label: `link ${connection.source} to ${connection.target}`,
        announce: `Linked ${connection.source} to ${connection.target}.`,
      })
    },
    [doc, onChange],
  )

  /** A link dropped anywhere on a block (not only on its dot) links to that block. */
  const onConnectEnd = useCallback(
    (event: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      if (state.isValid || !state.fromNode || !state.fromHandle?.id) return
      if (state.fromHandle.type !== 'source') return
      const point = 'changedTouches' in event ? event.changedTouches[0] : event
      if (!point) return
      const over = document.elementFromPoint(point.clientX, point.clientY)
      const target = (over?.closest('.react-flow__node') as HTMLElement | null)?.dataset.id
      if (!target || !wrapper.current?.contains(over)) return
      onConnect({
        source: state.fromNode.id,
        sourceHandle: state.fromHandle.id,
        target,
        targetHandle: 'in',
      })
    },
    [onConnect],
  )

  /**
   * Delete (or Backspace): the selected links if there are any (a click on an arrow selects
   * it), else the block whose node has the focus. Never from a field or the settings form.
   */
  const deleteKey = useRef<(event: KeyboardEvent) => void>(() => {})
  deleteKey.current = (event: KeyboardEvent) => {
    if (readOnly || (event.key !== 'Delete' && event.key !== 'Backspace')) return
    const target = event.target as HTMLElement
    if (target.closest?.('input, textarea, select, [contenteditable], .block-settings')) return
    if (selectedEdges.size > 0) {
      let next = doc
      const unlinked: string[] = []
      for (const edge of edges) {
        if (!selectedEdges.has(edge.id)) continue
        next = setLink(next, edge.source, edge.sourceHandle as LinkSource, null)
        unlinked.push(`${edge.source} to ${edge.target}`)
      }
      setSelectedEdges(new Set())
      if (next === doc) return
      event.preventDefault()
      onChange({
        doc: next,
        label: 'unlink',
        announce: `Removed the link from ${unlinked.join(', ')}.`,
      })
      return
    }
    const node = target.closest?.('.react-flow__node') as HTMLElement | null
    const id = node?.dataset.id
    if (!id || !wrapper.current?.contains(node)) return
    event.preventDefault()
    if (id === selectedId) onSelect(null)
    onChange({
      doc: deleteBlock(doc, id),
      label: `delete ${id}`,
      announce: `Deleted block ${id} and every link to it.`,
    })
  }
  useEffect(() => {
    const listener = (event: KeyboardEvent) => deleteKey.current(event)
    document.addEventListener('keydown', listener)
    return () => document.removeEventListener('keydown', listener)
  }, [])

  /**
   * The whole flow when it fits at a readable size; else, readable, the part around `id` (by
   * default the start, at the left edge, where reading begins).
   */
  const showFlow = useCallback(
    (id?: string) => {
      const box = wrapper.current
      if (!box || positions.size === 0) return
      let left = Number.POSITIVE_INFINITY
      let top = Number.POSITIVE_INFINITY
      let right = Number.NEGATIVE_INFINITY
      let bottom = Number.NEGATIVE_INFINITY
      for (const block of blocks) {
        const at = positions.get(str(block.id))
        if (!at) continue
        left = Math.min(left, at.x)
        top = Math.min(top, at.y)
        right = Math.max(right, at.x + NODE_WIDTH)
        bottom = Math.max(bottom, at.y + nodeHeight(block))
      }
      const width = box.clientWidth
      const height = box.clientHeight
      const fit = Math.min(
        FIT_VIEW.maxZoom,
        width / ((right - left) * (1 + FIT_VIEW.padding)),
        height / ((bottom - top) * (1 + FIT_VIEW.padding)),
      )
      if (fit >= FIT_ZOOM) {
        void flow.fitView(FIT_VIEW)
        return
      }
      const target = id ?? str(doc.start)
      const at = positions.get(target) ?? { x: left, y: top }
      const block = blocks.find((candidate) => candidate.id === target)
      const zoom = READABLE_ZOOM
      const centreY = at.y + (block ? nodeHeight(block) : 0) / 2
      const x = id === undefined ? 24 - at.x * zoom : width / 2 - (at.x + NODE_WIDTH / 2) * zoom
      void flow.setViewport({ x, y: height / 2 - centreY * zoom, zoom })
    },
    [blocks, doc.start, flow, positions],
  )

  /** Brings a node into view: the whole flow while it fits, else the view centred on it. */
  const reveal = useCallback(
    (id: string) => {
      const rect = nodeElement(wrapper.current, id)?.getBoundingClientRect()
      const box = wrapper.current?.getBoundingClientRect()
      const inView =
        rect &&
        box &&
        rect.left >= box.left &&
        rect.right <= box.right &&
        rect.top >= box.top &&
        rect.bottom <= box.bottom
      // Once drawn: a node added this very render is not in the canvas yet.
      if (!inView) requestAnimationFrame(() => showFlow(id))
    },
    [showFlow],
  )

  const focusNode = useCallback(
    (id: string, select: boolean) => {
      reveal(id)
      if (select) onSelect(id)
      // The node may only be drawn once in view.
      requestAnimationFrame(() => nodeElement(wrapper.current, id)?.focus({ preventScroll: true }))
    },
    [reveal, onSelect],
  )

  useEffect(() => {
    if (!focusRequest) return
    if (focusRequest.focus) focusNode(focusRequest.id, true)
    else reveal(focusRequest.id)
  }, [focusRequest])

  const onKeyDownCapture = (event: KeyboardEvent) => {
    const target = event.target as HTMLElement
    const node = target.closest?.('.react-flow__node') as HTMLElement | null
    if (!node || node !== target) return
    const id = node.dataset.id ?? ''
    const block = blocks.find((candidate) => candidate.id === id)
    if (!block) return
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault()
      event.stopPropagation()
      onSelect(id)
      onOpenSettings()
      return
    }
    if (event.key === 'Escape') {
      event.stopPropagation()
      onSelect(null)
      return
    }
    if (!event.key.startsWith('Arrow')) return
    event.preventDefault()
    event.stopPropagation()
    if (event.altKey) {
      if (readOnly) return
      const at = positions.get(id) ?? { x: 0, y: 0 }
      const step = event.shiftKey ? KEY_STEP * 4 : KEY_STEP
      const dx = event.key === 'ArrowLeft' ? -step : event.key === 'ArrowRight' ? step : 0
      const dy = event.key === 'ArrowUp' ? -step : event.key === 'ArrowDown' ? step : 0
      onChange({
        doc: setPosition(withFullLayout(doc, positions), id, { x: at.x + dx, y: at.y + dy }),
        label: `move ${id}`,
        announce: `Moved ${id} ${event.key.slice(5).toLowerCase()}.`,
      })
      return
    }
    const outgoing = [...new Set(linksOf(block).map((link) => link.to))].filter((to) =>
      order.includes(to),
    )
    const incoming = order.filter((other) =>
      linksOf(blocks.find((candidate) => candidate.id === other) ?? {}).some(
        (link) => link.to === id,
      ),
    )
    const goTo = event.key === 'ArrowRight' || event.key === 'ArrowDown' ? outgoing : incoming
    const index = event.key === 'ArrowDown' || event.key === 'ArrowUp' ? goTo.length - 1 : 0
    const next = goTo[Math.max(0, index)]
    if (next) focusNode(next, false)
  }

  return (
    <div ref={wrapper} class="flow-canvas" onKeyDownCapture={onKeyDownCapture}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onNodeDragStop={onNodeDragStop}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        connectionRadius={32}
        onPaneClick={() => onSelect(null)}
        // Delete is handled above: links first, else the focused block.
        deleteKeyCode={null}
        selectionKeyCode={null}
        multiSelectionKeyCode={null}
        nodesConnectable={!readOnly}
        nodesDraggable={!readOnly}
        // Links are set from the keyboard in the block's settings; Tab goes through blocks only.
        edgesFocusable={false}
        elevateEdgesOnSelect
        onlyRenderVisibleElements={blocks.length >= HUGE_BOT}
        minZoom={0.1}
        maxZoom={2}
        onInit={() => {
          const saved = viewKey ? loadView(viewKey) : null
          if (saved) void flow.setViewport(saved)
          else showFlow()
        }}
        onMoveEnd={(_event: unknown, viewport: View) => {
          if (viewKey) saveView(viewKey, viewport)
        }}
        fitViewOptions={FIT_VIEW}
        ariaLabelConfig={ARIA}
        attributionPosition="top-right"
      >
        <Controls showInteractive={false} position="bottom-left" />
        {blocks.length >= BIG_BOT ? (
          <MiniMap position="bottom-right" pannable zoomable nodeClassName="minimap-node" />
        ) : null}
      </ReactFlow>
    </div>
  )
}

interface View {
  x: number
  y: number
  zoom: number
}

function loadView(key: string): View | null {
  try {
    const view = JSON.parse(sessionStorage.getItem(key) ?? 'null') as View | null
    const ok =
      view && [view.x, view.y, view.zoom].every((n) => typeof n === 'number' && Number.isFinite(n))
    return ok ? view : null
  } catch {
    return null
  }
}

function saveView(key: string, view: View): void {
  try {
    sessionStorage.setItem(key, JSON.stringify({ x: view.x, y: view.y, zoom: view.zoom }))
  } catch {}
}

function nodeElement(root: HTMLElement | null, id: string): HTMLElement | null {
  return root?.querySelector<HTMLElement>(`.react-flow__node[data-id="${CSS.escape(id)}"]`) ?? null
}
