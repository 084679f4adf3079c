import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { installFakeFetch } from './fakeFetch'
import RoomForm from '@/components/RoomForm.vue'
import { setLocale } from '@/i18n'
import type { Room, RoomIn } from '@/api/types'

/** Element Plus shows a form item's error after a short debounce. */
const settle = () => new Promise((r) => setTimeout(r, 250))

const saved: Room = {
  id: 3, name: 'Tea', platform: 'bilibili', server_url: 'rtmp://live-push.bilivideo.com/live-bvc/', stream_key: '****9f2a',
  settings: { record: false }, created_at: '2030-01-01T00:00:00Z',
  destinations: [
    { id: 4, name: 'YouTube', server_url: 'rtmp://a.rtmp.youtube.com/live2', stream_key: '****abcd', enabled: true },
    { id: 7, name: 'Backup', server_url: 'rtmps://backup.example.com/app', stream_key: '', enabled: false },
  ],
}

function form(room: Room | null = saved, errors: Record<string, string> = {}) {
  return mount(RoomForm, { props: { room, errors }, attachTo: document.body })
}
type Form = ReturnType<typeof form>
const payload = (w: Form) => (w.vm as unknown as { payload: () => RoomIn | null }).payload()
const input = (w: Form, name: string) => w.get(`input[data-test="${name}"]`)
const rows = (w: Form) => w.findAll('[data-test^="room-destination-"]')
  .filter((r) => /^room-destination-\d+$/.test(r.attributes('data-test') ?? ''))

describe('RoomForm destinations and recording', { timeout: 60_000 }, () => {
  it('lists the saved destinations with their key masked as the placeholder', () => {
    const w = form()
    expect(rows(w)).toHaveLength(2)
    expect((input(w, 'room-destination-name-0').element as HTMLInputElement).value).toBe('YouTube')
    expect((input(w, 'room-destination-server-1').element as HTMLInputElement).value).toBe('rtmps://backup.example.com/app')
    expect(input(w, 'room-destination-key-0').attributes('type')).toBe('password')
    expect(input(w, 'room-destination-key-0').attributes('placeholder')).toContain('****abcd')
    expect(input(w, 'room-destination-key-1').attributes('placeholder')).not.toContain('****')
  })

  it('sends the saved ones by id with stream_key null when not retyped, a retyped key, a new one, and record', async () => {
    const w = form()
    await input(w, 'room-destination-key-1').setValue('backup-key')
    await w.get('[data-test="room-destination-add"]').trigger('click')
    await input(w, 'room-destination-name-2').setValue('Douyin')
    await input(w, 'room-destination-server-2').setValue('rtmp://push-rtmp-l3.douyincdn.com/third')
    await input(w, 'room-destination-key-2').setValue('dy-key')
    await w.get('[data-test="room-record"]').trigger('click')
    const body = payload(w)
    expect(body?.destinations).toEqual([
      { id: 4, name: 'YouTube', server_url: 'rtmp://a.rtmp.youtube.com/live2', stream_key: null, enabled: true },
      { id: 7, name: 'Backup', server_url: 'rtmps://backup.example.com/app', stream_key: 'backup-key', enabled: false },
      { name: 'Douyin', server_url: 'rtmp://push-rtmp-l3.douyincdn.com/third', stream_key: 'dy-key', enabled: true },
    ])
    expect(body?.settings?.record).toBe(true)
  })

  it('removing one sends the list without it', async () => {
    const w = form()
    await w.get('[data-test="room-destination-remove-0"]').trigger('click')
    expect(payload(w)?.destinations).toEqual([
      { id: 7, name: 'Backup', server_url: 'rtmps://backup.example.com/app', stream_key: null, enabled: false },
    ])
  })

  it('a new room without destinations sends an empty list and record off', async () => {
    const fresh = form(null)
    await input(fresh, 'room-name').setValue('New')
    const body = payload(fresh)
    expect(body?.destinations).toEqual([])
    expect(body?.settings?.record).toBe(false)
  })

  it('adds at most five', async () => {
    const w = form()
    const add = w.get('[data-test="room-destination-add"]')
    for (let i = 0; i < 5; i++) await add.trigger('click')
    expect(rows(w)).toHaveLength(5)
    expect(add.attributes('disabled')).toBeDefined()
    expect(w.text()).toContain('最多 5 个推流目的地')
  })

  it('refuses a destination without a name or with a bad server URL, at its field', async () => {
    const w = form()
    await w.get('[data-test="room-destination-add"]').trigger('click')
    await input(w, 'room-destination-server-2').setValue('http://example.com/live')
    expect(payload(w)).toBeNull()
    await settle()
    const row = w.get('[data-test="room-destination-2"]')
    expect(row.text()).toContain('请输入名称')
    expect(row.text()).toContain('推流地址须以 rtmp:// 或 rtmps:// 开头')
    expect(w.get('[data-test="room-destination-0"]').text()).not.toContain('推流地址须以')
  })

  it('shows the API\'s field errors under the right destination\'s field, in English too', async () => {
    setLocale('en')
    const w = form(saved, { 'destinations.1.server_url': 'Value error, the host cannot be resolved' })
    await settle()
    expect(w.get('[data-test="room-destination-1"]').text()).toContain('the host cannot be resolved')
    expect(w.get('[data-test="room-destination-0"]').text()).not.toContain('the host cannot be resolved')
    expect(w.text()).toContain('More destinations')
    expect(w.text()).toContain('Record every live')
  })
})

describe('a destination\'s test push', { timeout: 60_000 }, () => {
  afterEach(() => vi.unstubAllGlobals())

  const okBody = (url: string) => ({ body: { ok: true, url, seconds: 3, connect_ms: 25, error: null, reason: null, params: {}, warnings: [] } })

  it('pushes a saved destination by id with its unsaved URL, and shows the result in its own row', async () => {
    setLocale('en')
    const { calls } = installFakeFetch({ 'POST /api/rooms/3/test-push': () => okBody('rtmp://a.rtmp.youtube.com/live2b/***') })
    const w = form()
    await input(w, 'room-destination-server-0').setValue('rtmp://a.rtmp.youtube.com/live2b')
    await w.get('[data-test="room-destination-test-0"]').trigger('click')
    await flushPromises()
    expect(calls.map((c) => c.body)).toEqual([{ seconds: 3, destination: 4, server_url: 'rtmp://a.rtmp.youtube.com/live2b' }])
    expect(w.get('[data-test="room-destination-test-0-result"]').text())
      .toBe('Pushed 3 s to rtmp://a.rtmp.youtube.com/live2b/*** (connected in 25 ms)')
    expect(w.find('[data-test="room-destination-test-1-result"]').exists()).toBe(false)
    expect(w.find('[data-test="room-test-push-result"]').exists()).toBe(false)
  })

  it('a retyped key goes with the push; a new destination without a key pushes with none, never the room\'s key', async () => {
    const { calls } = installFakeFetch({ 'POST /api/rooms/3/test-push': () => okBody('rtmp://x/***') })
    const w = form()
    await input(w, 'room-destination-key-1').setValue('backup-key')
    await w.get('[data-test="room-destination-test-1"]').trigger('click')
    await w.get('[data-test="room-destination-add"]').trigger('click')
    await input(w, 'room-destination-server-2').setValue('rtmp://push.example.com/live')
    await w.get('[data-test="room-destination-test-2"]').trigger('click')
    await flushPromises()
    expect(calls.map((c) => c.body)).toEqual([
      { seconds: 3, destination: 7, server_url: 'rtmps://backup.example.com/app', stream_key: 'backup-key' },
      { seconds: 3, server_url: 'rtmp://push.example.com/live', stream_key: '' },
    ])
  })

  it('says why it failed in the row, and sends nothing for a URL the API would refuse', async () => {
    const { calls } = installFakeFetch({
      'POST /api/rooms/3/test-push': () => ({
        body: { ok: false, url: 'rtmp://a.rtmp.youtube.com/live2/***', seconds: 0, connect_ms: null,
          error: 'cannot connect to RTMP server a.rtmp.youtube.com:1935: Connection refused',
          reason: 'rtmp_unreachable', params: { host: 'a.rtmp.youtube.com', port: 1935 }, warnings: [] },
      }),
    })
    const w = form()
    await w.get('[data-test="room-destination-test-0"]').trigger('click')
    await flushPromises()
    const result = w.get('[data-test="room-destination-test-0-result"]')
    expect(result.text()).toBe('测试推流失败：连不上推流服务器 a.rtmp.youtube.com:1935：请检查地址、端口和网络')
    expect(result.classes()).toContain('failed')
    await input(w, 'room-destination-server-1').setValue('http://backup.example.com/app')
    await w.get('[data-test="room-destination-test-1"]').trigger('click')
    await flushPromises()
    await settle()
    expect(calls).toHaveLength(1)
    expect(w.get('[data-test="room-destination-1"]').text()).toContain('推流地址须以 rtmp:// 或 rtmps:// 开头')
  })

  it('is disabled until the room is saved', () => {
    const w = form(null)
    w.get('[data-test="room-destination-add"]').trigger('click')
    return flushPromises().then(() => {
      expect(w.get('[data-test="room-destination-test-0"]').attributes('disabled')).toBeDefined()
    })
  })
})
