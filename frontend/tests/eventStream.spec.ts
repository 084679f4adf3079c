import { describe, expect, it, vi } from 'vitest'
import { LiveEventStream } from '@/lib/eventStream'
import type { LiveEvent } from '@/api/types'

/** An EventSource stand-in the test drives by hand. */
class FakeSource extends EventTarget {
  static made: FakeSource[] = []
  readyState = 0
  onopen: (() => void) | null = null
  closed = false
  constructor(public url: string) {
    super()
    FakeSource.made.push(this)
  }
  open() { this.readyState = 1; this.onopen?.() }
  emit(type: string, data: object, id: string) {
    this.dispatchEvent(new MessageEvent(type, { data: JSON.stringify(data), lastEventId: id }))
  }
  fail(closed: boolean) { this.readyState = closed ? 2 : 0; this.dispatchEvent(new Event('error')) }
  close() { this.closed = true; this.readyState = 2 }
}

function make(beforeReconnect = vi.fn(async () => true)) {
  FakeSource.made = []
  const events: LiveEvent[] = []
  const stream = new LiveEventStream({
    url: (last) => `/api/sessions/1/events?access_token=t${last ? `&last_event_id=${last}` : ''}`,
    onEvent: (e) => events.push(e),
    beforeReconnect,
    create: (u) => new FakeSource(u) as unknown as EventSource,
    minDelayMs: 10,
  })
  stream.start()
  return { stream, events, beforeReconnect }
}

describe('LiveEventStream', () => {
  it('delivers named events, and tells a worker "error" event from a broken connection', () => {
    const { events, stream } = make()
    const es = FakeSource.made[0]
    es.open()
    es.emit('utterance', { type: 'utterance', state: 'start', text: 'hi' }, '1-0')
    es.emit('error', { type: 'error', source: 'voice', message: 'x' }, '2-0')
    expect(events.map((e) => e.type)).toEqual(['utterance', 'error'])
    expect(stream.state).toBe('open')
  })

  it('when the browser gives up (401, 503...) refreshes and reopens after the last event seen', async () => {
    vi.useFakeTimers()
    const { beforeReconnect } = make()
    const first = FakeSource.made[0]
    first.open()
    first.emit('state', { type: 'state', state: 'live' }, '5-1')
    first.fail(true)
    await vi.advanceTimersByTimeAsync(20)
    expect(beforeReconnect).toHaveBeenCalledOnce()
    expect(FakeSource.made).toHaveLength(2)
    expect(FakeSource.made[1].url).toContain('last_event_id=5-1')
  })

  it('lets the browser retry by itself while it still does', async () => {
    vi.useFakeTimers()
    const { stream } = make()
    FakeSource.made[0].fail(false)
    await vi.advanceTimersByTimeAsync(50)
    expect(FakeSource.made).toHaveLength(1)
    expect(stream.state).toBe('retrying')
  })

  it('an "ended" event does not end the view by itself (it may be history); the session status does', async () => {
    vi.useFakeTimers()
    const { stream, events } = make(vi.fn(async () => false))
    const es = FakeSource.made[0]
    es.open()
    es.emit('state', { type: 'state', state: 'ended' }, '9-0')
    es.emit('utterance', { type: 'utterance', state: 'start', text: 'after a restart' }, '10-0')
    expect(events).toHaveLength(2)
    expect(stream.state).toBe('open')
    es.fail(true) // the server closed after the final state; the reconnect was answered 204
    await vi.advanceTimersByTimeAsync(20)
    expect(stream.state).toBe('closed')
    expect(FakeSource.made).toHaveLength(1)
  })

  it('starts after a given id, to replay recent history', () => {
    FakeSource.made = []
    new LiveEventStream({
      url: (last) => `/events?last_event_id=${last}`,
      onEvent: () => undefined,
      startAfter: '1700000000000-0',
      create: (u) => new FakeSource(u) as unknown as EventSource,
    }).start()
    expect(FakeSource.made[0].url).toBe('/events?last_event_id=1700000000000-0')
  })
})
