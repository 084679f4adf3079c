import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
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
