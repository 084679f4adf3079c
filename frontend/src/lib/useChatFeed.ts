/**
 * The chat feed for a component: events go into the (bounded) ChatFeed as they come, and the rows
 * the template reads are refreshed at most once an animation frame and ~8 times a second, so a
 * flood of events (hundreds a second, or minutes of history replayed at once) costs one render
 * per refresh, not one per event. Stops with the component (or effect scope) that made it.
 */
import { getCurrentScope, onScopeDispose, shallowRef, type ShallowRef } from 'vue'
import type { AudienceEventOut, LiveEvent } from '@/api/types'
import { ChatFeed, type ChatRow } from './chatFeed'

/** Runs `fn` soon; returns a cancel. */
export type Scheduler = (fn: () => void) => () => void

/** Least time between two refreshes of the rows, in ms. */
export const REFRESH_MS = 120

const nextFrame: Scheduler = (fn) => {
  if (typeof requestAnimationFrame === 'function') {
    const id = requestAnimationFrame(() => fn())
    return () => cancelAnimationFrame(id)
  }
  const id = setTimeout(fn, 16)
  return () => clearTimeout(id)
}

export interface ChatFeedView {
  /** newest first, at most `max` */
  rows: Readonly<ShallowRef<ChatRow[]>>
  /** an event of the live (ones that are not about the audience are ignored) */
  add(event: LiveEvent): void
  /** stored events, as GET /sessions/{id}/audience gives them */
  addHistory(items: readonly AudienceEventOut[]): void
  clear(): void
  /** refresh the rows now (tests; before reading them right after adding) */
  flush(): void
}

export function useChatFeed(max = 500, frame: Scheduler = nextFrame): ChatFeedView {
  const feed = new ChatFeed(max)
  const rows = shallowRef<ChatRow[]>([])
  let cancel: (() => void) | null = null
  let last = 0

  function flush(): void {
    cancel?.()
    cancel = null
    last = Date.now()
    if (feed.dirty) rows.value = feed.snapshot()
  }

  function later(): void {
    if (cancel || !feed.dirty) return
    const wait = REFRESH_MS - (Date.now() - last)
    if (wait <= 0) {
      cancel = frame(flush)
      return
    }
    let cancelFrame: (() => void) | null = null
    const timer = setTimeout(() => { cancelFrame = frame(flush) }, wait)
    cancel = () => { clearTimeout(timer); cancelFrame?.() }
  }

  if (getCurrentScope()) onScopeDispose(() => { cancel?.(); cancel = null })

  return {
    rows,
    add(event) {
      if (feed.add(event)) later()
    },
    addHistory(items) {
      if (feed.addHistory(items)) later()
    },
    clear() {
      feed.clear()
      flush()
    },
    flush,
  }
}
