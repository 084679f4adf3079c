import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { installFakeFetch, page } from './fakeFetch'
import { mountPage } from './mountPage'

/** An EventSource stand-in the test drives by hand. */
class FakeSource extends EventTarget {
  static made: FakeSource[] = []
  readyState = 0
  onopen: (() => void) | null = null
  constructor(public url: string) {
    super()
    FakeSource.made.push(this)
  }
  emit(type: string, data: object) {
    this.dispatchEvent(new MessageEvent(type, { data: JSON.stringify(data), lastEventId: '1-0' }))
  }
  close() { this.readyState = 2 }
}

const HOUR = 3600_000
const iso = (ms: number) => new Date(ms).toISOString()

function schedule(id: number, scriptId: number, nextStart: number | null, repeat = 'none') {
  const start = nextStart ?? Date.now() - 48 * HOUR
  return { id, room_id: 1, script_id: scriptId, avatar_id: 1, voice_id: 1, start_at: iso(start), end_at: iso(start + 2 * HOUR),
    repeat, enabled: true, next_start: nextStart === null ? null : iso(nextStart), created_by: 1, created_at: iso(Date.now() - 72 * HOUR) }
}

const script = (id: number, name: string) => ({ id, name, loop: 1, segments: [{ say: 'hi' }], chars: 2, sentences: 1,
  created_at: '2030-01-01T00:00:00Z', updated_at: '2030-01-01T00:00:00Z' })

function server(totals: Partial<Record<'rooms' | 'avatars' | 'voices' | 'scripts' | 'schedules', number>> = {},
  workers: unknown[] = []) {
  const now = Date.now()
  const schedules = [
    schedule(1, 1, now - 60_000), // a one-off that started a minute ago
    schedule(2, 2, now + HOUR), // later today
    schedule(3, 3, now - 10 * 60_000, 'daily'), // today's started 10 min ago: next is tomorrow
  ]
  const list = (name: keyof typeof totals, items: unknown[]) => () => ({ body: page(items, totals[name] ?? items.length) })
  return installFakeFetch({
    'GET /api/sessions': () => ({ body: page([]) }),
    'GET /api/schedules': list('schedules', schedules),
    'GET /api/workers': () => ({ body: workers }),
    'GET /api/rooms': list('rooms', []),
    'GET /api/scripts': list('scripts', [script(1, 'Started one-off'), script(2, 'Later today'), script(3, 'Daily show')]),
    'GET /api/avatars': list('avatars', []),
    'GET /api/voices': list('voices', []),
  })
}

describe('the overview', { timeout: 30_000 }, () => {
  beforeEach(() => {
    document.body.innerHTML = ''
    FakeSource.made = []
    vi.stubGlobal('EventSource', FakeSource)
  })

  it('shows a worker\'s load as CPU of its budget (an older worker: lives of slots), and each live\'s share', async () => {
    server({}, [
      { name: 'gpu-1', slots: 8, running: 2, updated_at: Date.now() / 1000, cores: 2, cpu_share: 0.9, load: 0.6, live_cost: 0.3,
        lives: [{ session: 7, cpu: 0.31, fps: 25, behind_s: 0, preset: 'veryfast', overloaded: false },
          { session: 8, cpu: 0.29, fps: 24.9, behind_s: 1.4, preset: 'ultrafast', overloaded: true }] },
      { name: 'old', slots: 3, running: 1, updated_at: Date.now() / 1000, lives: [] },
    ])
    const { wrapper } = await mountPage('/')
    const rows = wrapper.findAll('[data-test="overview-workers"] tbody tr').map((r) => r.text())
    expect(rows[0]).toContain('2 场直播 · 用 0.60 / 1.8 核')
    expect(wrapper.get('[data-test="worker-load-gpu-1"]').attributes('aria-valuenow')).toBe('33')
    expect(rows[1]).toContain('1/3')
    expect(wrapper.get('[data-test="worker-load-old"]').attributes('aria-valuenow')).toBe('33')
    await wrapper.get('[data-test="worker-load-gpu-1"]').trigger('mouseenter')
    await new Promise((r) => setTimeout(r, 300))
    expect(document.body.textContent).toContain('直播 8：0.29 核，24.9 帧/秒，x264 ultrafast，落后 1.4 秒：这台机器跟不上实时')
  })

  it('lists as upcoming only occurrences that have not started', async () => {
    server()
    const { wrapper } = await mountPage('/')
    const rows = wrapper.findAll('[data-test="overview-schedules"] tbody tr').map((r) => r.text())
    expect(rows).toHaveLength(2)
    expect(rows[0]).toContain('Later today')
    expect(rows[1]).toContain('Daily show')
    expect(rows.join()).not.toContain('Started one-off')
  })

  it('refreshes when a live changes state (GET /api/events), not only on its slow poll', async () => {
    const fake = server()
    await mountPage('/')
    expect(FakeSource.made.map((s) => s.url)).toEqual(['/api/events?access_token=tok'])
    const sessionCalls = () => fake.calls.filter((c) => c.path === '/api/sessions').length
    const before = sessionCalls()
    FakeSource.made[0].emit('state', { type: 'state', session_id: 7, state: 'live' })
    await flushPromises()
    expect(sessionCalls()).toBeGreaterThan(before)
  })

  it('guides a new operator room -> avatar -> voice -> script -> schedule, ticking what is done', async () => {
    server({ rooms: 1, avatars: 1, voices: 0, scripts: 3, schedules: 0 })
    const { wrapper } = await mountPage('/')
    const guide = wrapper.get('[data-test="first-run-guide"]')
    const steps = guide.findAll('[data-test^="guide-step-"]')
    expect(steps.map((s) => s.attributes('data-test'))).toEqual(
      ['guide-step-room', 'guide-step-avatar', 'guide-step-voice', 'guide-step-script', 'guide-step-schedule'])
    expect(steps.map((s) => s.attributes('data-done'))).toEqual(['true', 'true', 'false', 'true', 'false'])
    expect(guide.get('[data-test="guide-link-voice"]').attributes('href')).toBe('/voices')
    await guide.get('[data-test="guide-dismiss"]').trigger('click')
    expect(wrapper.find('[data-test="first-run-guide"]').exists()).toBe(false)
    expect(localStorage.getItem('livehost.guide.dismissed')).toBe('1')
  })

  it('shows no guide once every step is done, nor to a viewer', async () => {
    server({ rooms: 1, avatars: 1, voices: 1, scripts: 1, schedules: 1 })
    const { wrapper } = await mountPage('/')
    expect(wrapper.find('[data-test="first-run-guide"]').exists()).toBe(false)
    server({})
    const viewer = await mountPage('/', 'viewer')
    expect(viewer.wrapper.find('[data-test="first-run-guide"]').exists()).toBe(false)
  })
})
