import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { installFakeFetch, page } from './fakeFetch'
import { mountPage } from './mountPage'
import LiveChat from '@/components/LiveChat.vue'
import { confirmDanger } from '@/lib/feedback'
import { setLocale } from '@/i18n'
import type { AudienceStatus } from '@/api/types'
import type { ChatRow } from '@/lib/chatFeed'

// ECharts cannot draw in happy-dom; the console's charts are not what these tests are about
vi.mock('@/components/LiveCharts.vue', () => ({ default: { name: 'LiveCharts', render: () => null } }))

// "Block ...?" is answered yes unless a test says otherwise
vi.mock('@/lib/feedback', async (original) => ({
  ...(await original<typeof import('@/lib/feedback')>()),
  confirmDanger: vi.fn(async () => true),
}))

const at = new Date(2030, 5, 1, 20, 3, 7).getTime() / 1000

const row = (seq: number, fields: Partial<ChatRow> = {}): ChatRow => ({ seq, platform: 'bilibili', kind: 'comment', userId: `${seq}`,
  user: `viewer ${seq}`, text: `hello ${seq}`, gift: '', count: 0, value: 0, currency: '', at, action: 'queued', reason: null,
  reply: null, ...fields })

const status: AudienceStatus = {
  sources: [
    { name: 'bilibili:21452505', platform: 'bilibili', connected: true, since: at, last_event_at: at, events: 40, unknown: 0,
      malformed: 0, reconnects: 0, error: null },
    { name: 'youtube:jfKfPfyJRdk', platform: 'youtube', connected: false, since: null, last_event_at: null, events: 0, unknown: 0,
      malformed: 0, reconnects: 3, error: 'quotaExceeded: the API key is out of quota' },
  ],
  online: 1234, per_minute: 12.345, queued: 2, received: 40, answered: 5, thanked: 3, skipped: 7, dropped: 1,
}

function chat(rows: ChatRow[], canAct = true) {
  return mount(LiveChat, { props: { sessionId: 9, rows, status, canAct }, attachTo: document.body })
}

describe('the live chat panel', () => {
  beforeEach(() => { document.body.innerHTML = '' })

  it('shows the audience at a glance: online, comments a minute, waiting, each source and its error', () => {
    const w = chat([])
    expect(w.get('[data-test="chat-online"]').text()).toBe('1234')
    expect(w.get('[data-test="chat-per-minute"]').text()).toBe('12.3')
    expect(w.get('[data-test="chat-queued"]').text()).toBe('2')
    const sources = w.findAll('[data-test="chat-source"]')
    expect(sources.map((s) => s.attributes('data-connected'))).toEqual(['true', 'false'])
    expect(sources[0].text()).toContain('已连接')
    expect(sources[1].text()).toContain('重连中')
    expect(w.get('[data-test="chat-source-error"]').text()).toBe('quotaExceeded: the API key is out of quota')
    expect(w.get('[data-test="chat-feed-empty"]').text()).toBe('还没有观众消息')
  })

  it('shows each message with its platform, name and text; gifts and paid messages with their worth and highlighted', () => {
    setLocale('en')
    const w = chat([
      row(3, { kind: 'superchat', platform: 'youtube', text: 'Love the stream', value: 5, currency: 'USD', action: 'thanks' }),
      row(2, { kind: 'gift', gift: 'Rocket', count: 2, value: 20, currency: 'CNY', action: 'thanked' }),
      row(1, { action: 'answered', reply: 'It is 9.9 yuan' }),
    ])
    const rows = w.findAll('[data-test="chat-row"]')
    expect(rows.map((r) => r.get('[data-test="chat-platform"]').text())).toEqual(['YouTube', 'Bilibili', 'Bilibili'])
    expect(rows[0].classes()).toContain('paid')
    expect(rows[0].get('[data-test="chat-value"]').text()).toContain('5.00')
    expect(rows[1].get('[data-test="chat-text"]').text()).toBe('sent Rocket ×2')
    expect(rows[2].classes()).not.toContain('paid')
    expect(rows[2].get('[data-test="chat-action"]').text()).toBe('answered')
    expect(rows[2].get('[data-test="chat-reply"]').text()).toBe('↳ It is 9.9 yuan')
  })

  it('renders viewers\' words as text, never as markup', () => {
    const evil = '<img src=x onerror="window.hacked=1"><b>bold</b>'
    const w = chat([row(1, { user: '<script>alert(1)</script>', text: evil })])
    expect(w.find('[data-test="chat-row"] img').exists()).toBe(false)
    expect(w.find('[data-test="chat-row"] b').exists()).toBe(false)
    expect(w.get('[data-test="chat-text"]').text()).toBe(evil)
    expect(w.get('[data-test="chat-user"]').text()).toBe('<script>alert(1)</script>')
  })

  it('offers answer now and skip on waiting comments, block on any viewer, and calls the API', async () => {
    const fake = installFakeFetch({
      'POST /api/sessions/9/audience/2/answer': () => ({ status: 202, body: { id: '1-0', type: 'answer' } }),
      'POST /api/sessions/9/audience/2/skip': () => ({ status: 202, body: { id: '2-0', type: 'skip' } }),
      'POST /api/sessions/9/audience/block': () => ({ status: 202, body: { id: '3-0', type: 'block' } }),
    })
    const w = chat([row(2), row(1, { action: 'skipped', reason: 'duplicate', platform: 'relay', userId: '', user: 'Tom' })])
    const [waiting, skipped] = w.findAll('[data-test="chat-row"]')
    expect(skipped.get('[data-test="chat-action"]').text()).toBe('已跳过：重复内容')
    expect(skipped.find('[data-test="chat-answer"]').exists()).toBe(false)
    await waiting.get('[data-test="chat-answer"]').trigger('click')
    await flushPromises()
    await waiting.get('[data-test="chat-skip"]').trigger('click')
    await flushPromises()
    await skipped.get('[data-test="chat-block"]').trigger('click')
    await flushPromises()
    expect(confirmDanger).toHaveBeenCalledWith(expect.stringContaining('Tom'), '屏蔽')
    expect(fake.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /api/sessions/9/audience/2/answer', 'POST /api/sessions/9/audience/2/skip', 'POST /api/sessions/9/audience/block',
    ])
    expect(fake.calls[2].body).toEqual({ user: 'Tom' })
  })

  it('blocks nobody when the operator says no', async () => {
    vi.mocked(confirmDanger).mockResolvedValueOnce(false)
    const fake = installFakeFetch({})
    const w = chat([row(1)])
    await w.get('[data-test="chat-block"]').trigger('click')
    await flushPromises()
    expect(fake.calls).toHaveLength(0)
  })

  it('shows no buttons to a viewer', () => {
    const w = chat([row(1)], false)
    expect(w.find('[data-test="chat-answer"]').exists()).toBe(false)
    expect(w.find('[data-test="chat-block"]').exists()).toBe(false)
  })

  it('filters to the waiting comments, or to gifts and paid messages', async () => {
    const w = chat([row(3, { kind: 'gift', gift: 'x', value: 1, currency: 'CNY', action: 'thanks' }), row(2), row(1, { action: 'answered' })])
    await w.get('[data-test="chat-filter-queued"] input').setValue(true)
    expect(w.findAll('[data-test="chat-row"]').map((r) => r.attributes('data-seq'))).toEqual(['2'])
    await w.get('[data-test="chat-filter-paid"] input').setValue(true)
    expect(w.findAll('[data-test="chat-row"]').map((r) => r.attributes('data-seq'))).toEqual(['3'])
  })
})

/** An EventSource stand-in the test drives by hand. */
class FakeSource extends EventTarget {
  static made: FakeSource[] = []
  readyState = 0
  onopen: (() => void) | null = null
  private n = 0
  constructor(public url: string) {
    super()
    FakeSource.made.push(this)
  }
  emit(type: string, data: object) {
    this.dispatchEvent(new MessageEvent(type, { data: JSON.stringify({ type, ...data }), lastEventId: `${++this.n}-0` }))
  }
  close() { this.readyState = 2 }
}

const session = (audience: AudienceStatus | null) => ({
  id: 9, schedule_id: null, room_id: 1, script_id: 1, avatar_id: 1, voice_id: 1, status: 'live', worker: 'w1',
  planned_end_at: null, started_at: '2030-01-01T00:00:00Z', ended_at: null, last_error: null, attempts: 1, position: {},
  created_by: 1, created_at: '2030-01-01T00:00:00Z', queue_position: null,
  live: { state: 'live', seconds: 10, fps: 25, updated_at: Date.now() / 1000, audience },
})

const storedEvent = (seq: number, fields: Record<string, unknown> = {}) => ({ id: seq, seq, platform: 'bilibili', kind: 'comment',
  user_id: `${seq}`, user: `viewer ${seq}`, text: `stored ${seq}`, gift: '', count: 0, value: 0, currency: '', at: at + seq,
  action: 'queued', reason: null, reply: null, ...fields })

describe('the live console\'s chat', { timeout: 30_000 }, () => {
  beforeEach(() => {
    document.body.innerHTML = ''
    FakeSource.made = []
    vi.stubGlobal('EventSource', FakeSource)
    vi.stubGlobal('requestAnimationFrame', (fn: FrameRequestCallback) => setTimeout(() => fn(0), 0))
  })

  function server() {
    return installFakeFetch({
      'GET /api/sessions/9': () => ({ body: session(status) }),
      'GET /api/sessions/9/audience': () => ({ body: page([storedEvent(2, { action: 'answered', reply: 'yes' }), storedEvent(1)], 2, 1, 100) }),
      'GET /api/sessions/9/comments': () => ({ body: page([]) }),
      'GET /api/avatars/1': () => ({ body: { id: 1, name: 'Mia', actions: [] } }),
      'GET /api/rooms': () => ({ body: page([]) }),
      'GET /api/scripts': () => ({ body: page([]) }),
      'GET /api/voices': () => ({ body: page([]) }),
    })
  }

  const settle = async () => {
    await flushPromises()
    await new Promise((r) => setTimeout(r, 150))
    await flushPromises()
  }

  it('loads the history first, then merges the live events into it (not into the event log)', async () => {
    server()
    const { wrapper } = await mountPage('/sessions/9', 'operator')
    await settle()
    const seqsShown = () => wrapper.findAll('[data-test="chat-row"]').map((r) => r.attributes('data-seq'))
    expect(seqsShown()).toEqual(['2', '1'])
    expect(FakeSource.made).toHaveLength(1)
    const es = FakeSource.made[0]
    es.emit('audience', { seq: 3, kind: 'superchat', platform: 'youtube', user_id: 'c', user: 'Ann', text: 'hi host', value: 5,
      currency: 'USD', at: at + 3, action: 'queued' })
    es.emit('audience_action', { seq: 1, action: 'skipped', reason: 'operator' })
    es.emit('audience', { seq: 2, kind: 'comment', platform: 'bilibili', user_id: '2', user: 'viewer 2', text: 'stored 2',
      at: at + 2, action: 'queued' }) // replayed: already answered
    await settle()
    expect(seqsShown()).toEqual(['3', '2', '1'])
    const rows = wrapper.findAll('[data-test="chat-row"]')
    expect(rows[0].find('[data-test="chat-answer"]').exists()).toBe(true)
    expect(rows[1].attributes('data-action')).toBe('answered')
    expect(rows[2].get('[data-test="chat-action"]').text()).toBe('已跳过：操作员跳过')
    expect(wrapper.findAll('[data-test="event-item"]').filter((e) => e.attributes('data-type')?.startsWith('audience'))).toHaveLength(0)
    expect(wrapper.get('[data-test="chat-online"]').text()).toBe('1234')
  })

  it('stays responsive under a flood: 500 events end as one bounded list', async () => {
    server()
    const { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    const es = FakeSource.made[0]
    for (let seq = 10; seq < 1010; seq++) {
      es.emit('audience', { seq, kind: 'comment', platform: 'relay', user: `u${seq}`, text: `flood ${seq}`, at: at + seq, action: 'queued' })
    }
    await settle()
    // 500 kept, the newest 100 drawn, the rest on request
    let rows = wrapper.findAll('[data-test="chat-row"]')
    expect(rows).toHaveLength(100)
    expect(rows[0].attributes('data-seq')).toBe('1009')
    expect(wrapper.get('[data-test="chat-more"]').text()).toBe('更早的 400 条')
    for (let i = 0; i < 4; i++) await wrapper.get('[data-test="chat-more"]').trigger('click')
    rows = wrapper.findAll('[data-test="chat-row"]')
    expect(rows).toHaveLength(500)
    expect(rows[499].attributes('data-seq')).toBe('510')
    expect(wrapper.find('[data-test="chat-more"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="chat-answer"]').exists()).toBe(false) // a viewer has no buttons
  })
})
