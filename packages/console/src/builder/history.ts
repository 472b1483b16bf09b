/**
 * Undo and redo over whole documents. Documents are immutable and share what did not change,
 * so keeping a few hundred of them costs little. Changes with the same `group` (the keystrokes
 * of one field) made within `COALESCE_MS` of each other undo as one.
 */
export interface History<T> {
  /** Earlier documents, each with the label of the change made after it. */
  past: Step<T>[]
  present: T
  /** Undone documents, each with the label of the change that leads to it. */
  future: Step<T>[]
  lastGroup: string | null
  lastAt: number
}

interface Step<T> {
  doc: T
  label: string
}

const LIMIT = 300
const COALESCE_MS = 1000

export function startHistory<T>(present: T): History<T> {
  return { past: [], present, future: [], lastGroup: null, lastAt: 0 }
}

export function record<T>(
  history: History<T>,
  next: T,
  label: string,
  options: { group?: string; now?: number } = {},
): History<T> {
  if (next === history.present) return history
  const now = options.now ?? Date.now()
  const group = options.group ?? null
  if (group !== null && group === history.lastGroup && now - history.lastAt < COALESCE_MS) {
    return { ...history, present: next, future: [], lastAt: now }
  }
  return {
    past: [...history.past, { doc: history.present, label }].slice(-LIMIT),
    present: next,
    future: [],
    lastGroup: group,
    lastAt: now,
  }
}

/** Replaces the present without an undo step of its own (the document typed as JSON). */
export function replace<T>(history: History<T>, present: T, label: string): History<T> {
  return record({ ...history, lastGroup: null }, present, label, { group: 'json' })
}

export const undoLabel = <T>(history: History<T>) => history.past.at(-1)?.label ?? null
export const redoLabel = <T>(history: History<T>) => history.future[0]?.label ?? null

export function undo<T>(history: History<T>): History<T> {
  const previous = history.past.at(-1)
  if (previous === undefined) return history
  return {
    past: history.past.slice(0, -1),
    present: previous.doc,
    future: [{ doc: history.present, label: previous.label }, ...history.future],
    lastGroup: null,
    lastAt: 0,
  }
}

export function redo<T>(history: History<T>): History<T> {
  const next = history.future[0]
  if (next === undefined) return history
  return {
    past: [...history.past, { doc: history.present, label: next.label }],
    present: next.doc,
    future: history.future.slice(1),
    lastGroup: null,
    lastAt: 0,
  }
}
