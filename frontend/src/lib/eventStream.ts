/**
 * A session's Server-Sent Events with reconnection. The browser's EventSource retries by itself
 * after a network hiccup (sending Last-Event-ID); when it gives up (an answer that is not 200: an
 * expired token, 204 for a live that is over, 503 while the bus is down) we ask `beforeReconnect`
 * (which refreshes the token and says whether the live is still worth following) and open a new
 * one after the last event seen, with a growing delay. The server closes the stream after a live's
 * final state; the reconnect that follows is answered 204, and `beforeReconnect` (which knows the
 * session's status) ends it there, so an old "ended" replayed from history never ends a live view.
 */
import type { LiveEvent } from '@/api/types'

export type StreamState = 'connecting' | 'open' | 'retrying' | 'closed'

export const EVENT_TYPES = [
  'state', 'utterance', 'reply', 'interrupt', 'cut', 'action', 'paused', 'error', 'output', 'message',
  'audience', 'audience_action', 'product', 'compliance', 'encoder', 'overloaded', 'caught_up',
] as const

export interface EventStreamOptions {
  /** the URL to open, resuming after `lastId` when given */
  url: (lastId: string | null) => string
  onEvent: (event: LiveEvent, id: string | null) => void
  onState?: (state: StreamState) => void
  /** before a reconnect of our own: refresh credentials; false ends the stream for good */
  beforeReconnect?: () => Promise<boolean>
  /** resume after this stream id on the first connection (e.g. `${Date.now() - 300000}-0` for 5 min of history) */
  startAfter?: string | null
  /** for tests: how to make an EventSource */
  create?: (url: string) => EventSource
  minDelayMs?: number
  maxDelayMs?: number
}

export class LiveEventStream {
  private es: EventSource | null = null
  private lastId: string | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  private delay: number
  private stopped = false
  state: StreamState = 'closed'

  constructor(private readonly opts: EventStreamOptions) {
    this.delay = opts.minDelayMs ?? 1000
    this.lastId = opts.startAfter ?? null
  }

  start(): void {
    this.stopped = false
    this.open()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.es?.close()
    this.es = null
    this.setState('closed')
  }

  private setState(s: StreamState): void {
    this.state = s
    this.opts.onState?.(s)
  }

  private open(): void {
    if (this.stopped) return
    const make = this.opts.create ?? ((u: string) => new EventSource(u))
    const es = make(this.opts.url(this.lastId))
    this.es = es
    this.setState('connecting')
    es.onopen = () => {
      this.delay = this.opts.minDelayMs ?? 1000
      this.setState('open')
    }
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (ev) => this.handle(type, ev))
    }
  }

  private handle(type: string, ev: Event): void {
    const data = (ev as MessageEvent).data
    if (type === 'error' && typeof data !== 'string') {
      this.connectionError()
      return
    }
    if (typeof data !== 'string') return
    let event: LiveEvent
    try {
      const parsed = JSON.parse(data) as unknown
      event = parsed && typeof parsed === 'object' ? (parsed as LiveEvent) : { type, value: parsed }
    } catch {
      event = { type, text: data }
    }
    if (!event.type) event.type = type
    const id = (ev as MessageEvent).lastEventId || null
    if (id) this.lastId = id
    this.opts.onEvent(event, id)
  }

  private connectionError(): void {
    if (this.stopped || !this.es) return
    if (this.es.readyState !== 2 /* CLOSED */) {
      this.setState('retrying') // the browser reconnects by itself
      return
    }
    this.es.close()
    this.es = null
    this.setState('retrying')
    const wait = this.delay
    this.delay = Math.min(this.delay * 2, this.opts.maxDelayMs ?? 15000)
    this.timer = setTimeout(async () => {
      this.timer = null
      if (this.stopped) return
      let go = true
      try {
        go = this.opts.beforeReconnect ? await this.opts.beforeReconnect() : true
      } catch {
        go = true
      }
      if (!go) this.stop()
      else this.open()
    }, wait)
  }
}
