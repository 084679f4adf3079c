import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { installFakeFetch, page } from './fakeFetch'
import { mountPage } from './mountPage'
import { setLocale } from '@/i18n'
import type { SessionSummary } from '@/api/types'

// ECharts cannot draw in happy-dom; the console's charts are not what these tests are about
vi.mock('@/components/LiveCharts.vue', () => ({ default: { name: 'LiveCharts', render: () => null } }))

const SUMMARY: SessionSummary = { duration_s: 3725, comments: 48, answered: 31, reconnects: 2, recording: 'recordings/9' }

const session = (status: string, summary: typeof SUMMARY | null) => ({
  id: 9, schedule_id: null, room_id: 1, script_id: 1, avatar_id: 1, voice_id: 1, status, worker: 'w1',
  planned_end_at: null, started_at: '2030-01-01T00:00:00Z', ended_at: status === 'ended' ? '2030-01-01T01:02:05Z' : null,
  last_error: null, attempts: 1, position: {}, created_by: 1, created_at: '2030-01-01T00:00:00Z', queue_position: null,
  live: null, summary,
})

const RECORDING = {
  session_id: 9, duration: 3725, bytes: 1024 * 1024, complete: true, error: null,
  segments: [{ file: 'seg-00000.ts', start: 0, duration: 3725, bytes: 1024 * 1024, url: '/api/sessions/9/recording/seg-00000.ts' }],
}

function server(detail: ReturnType<typeof session>, recorded: boolean) {
  return installFakeFetch({
    'GET /api/sessions/9': () => ({ body: detail }),
    'GET /api/sessions/9/compliance': () => ({ body: page([]) }),
    'GET /api/sessions/9/audience': () => ({ body: page([]) }),
    'GET /api/sessions/9/comments': () => ({ body: page([]) }),
    'GET /api/sessions/9/recording': () => (recorded
      ? { body: RECORDING }
      : { status: 404, body: { error: { code: 'not_found', message: 'session 9 has no recording' } } }),
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

beforeEach(() => {
  document.body.innerHTML = ''
})

describe('the end-of-live summary on the console', { timeout: 60_000 }, () => {
  it('shows what an ended live came to, and links to its recording', async () => {
    setLocale('en')
    server(session('ended', SUMMARY), true)
    const { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    const card = wrapper.get('[data-test="summary-card"]')
    expect(card.text()).toContain('End-of-live summary')
    expect(wrapper.get('[data-test="summary-duration"]').text()).toBe('1:02:05')
    expect(wrapper.get('[data-test="summary-comments"]').text()).toBe('48')
    expect(wrapper.get('[data-test="summary-answered"]').text()).toBe('31')
    expect(wrapper.get('[data-test="summary-reconnects"]').text()).toBe('2')
    const link = wrapper.get('[data-test="summary-recording"]')
    expect(link.attributes('href')).toBe('#session-recording')
    expect(document.getElementById('session-recording')?.getAttribute('data-test')).toBe('recording-card')
  })

  it('says minutes:seconds for a short live, and that it was not recorded', async () => {
    server(session('ended', { ...SUMMARY, duration_s: 754.6, recording: null }), false)
    const { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    expect(wrapper.get('[data-test="summary-duration"]').text()).toBe('12:34')
    expect(wrapper.find('[data-test="summary-recording"]').exists()).toBe(false)
    expect(wrapper.get('[data-test="summary-recording-none"]').text()).toBe('未录制')
  })

  it('shows none before the worker has ended the live', async () => {
    server(session('stopping', null), false)
    const { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    expect(wrapper.find('[data-test="summary-card"]').exists()).toBe(false)
  })
})
