import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { installFakeFetch, page } from './fakeFetch'
import { mountPage } from './mountPage'

// "Stop ...?" and "Delete ...?" are answered yes
vi.mock('@/lib/feedback', async (original) => ({
  ...(await original<typeof import('@/lib/feedback')>()),
  confirmDanger: vi.fn(async () => true),
}))

const room = (id: number, name: string) => ({ id, name, platform: 'custom', server_url: 'rtmp://ingest.example.com/live',
  stream_key: '', settings: {}, created_at: '2030-01-01T00:00:00Z' })
const live = (id: number, roomId: number, status: string) => ({ id, schedule_id: null, room_id: roomId, script_id: 1, avatar_id: 1,
  voice_id: 1, status, worker: 'w', planned_end_at: null, started_at: '2030-01-01T00:00:00Z', ended_at: null, last_error: null,
  attempts: 1, position: {}, created_by: 1, created_at: '2030-01-01T00:00:00Z' })

describe('the rooms page', { timeout: 30_000 }, () => {
  beforeEach(() => { document.body.innerHTML = '' })

  it('offers "stop lives" for a room with an active live, and stops them all', async () => {
    let lives = [live(9, 1, 'live'), live(10, 1, 'queued')]
    const fake = installFakeFetch({
      'GET /api/rooms': () => ({ body: page([room(1, 'Tea'), room(2, 'Idle')]) }),
      'GET /api/sessions': (req) => ({ body: page(lives.filter((s) => s.status === req.query.get('status'))) }),
      'POST /api/rooms/1/stop': () => {
        const stopped = lives.map((s) => s.id)
        lives = []
        return { body: { stopped } }
      },
    })
    const { wrapper } = await mountPage('/rooms')
    expect(wrapper.find('[data-test="room-stop-1"]').exists()).toBe(true)
    expect(wrapper.find('[data-test="room-stop-2"]').exists()).toBe(false)
    await wrapper.get('[data-test="room-stop-1"]').trigger('click')
    await flushPromises()
    expect(fake.calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual(['/api/rooms/1/stop'])
    expect(document.body.textContent).toContain('已停止 2 场直播')
    expect(wrapper.find('[data-test="room-stop-1"]').exists()).toBe(false)
  })

  it('says in words why a room in use cannot be deleted (409 in_use)', async () => {
    installFakeFetch({
      'GET /api/rooms': () => ({ body: page([room(2, 'Idle')]) }),
      'GET /api/sessions': () => ({ body: page([]) }),
      'DELETE /api/rooms/2': () => ({ status: 409, body: { error: { code: 'conflict', reason: 'in_use',
        message: 'room 2 is used by schedule 3; stop or delete those first', params: { what: 'room', id: 2, users: 'schedule 3' } } } }),
    })
    const { wrapper } = await mountPage('/rooms')
    await wrapper.get('[data-test="room-delete-2"]').trigger('click')
    await flushPromises()
    expect(document.body.textContent).toContain('直播间 2 正被使用（schedule 3），请先停止或删除它们')
    expect(document.body.textContent).not.toContain('is used by')
  })
})
