import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { installFakeFetch } from './fakeFetch'
import RoomForm from '@/components/RoomForm.vue'
import { setLocale } from '@/i18n'
import type { Room, RoomSources } from '@/api/types'

// "Replace the token?" is answered yes
vi.mock('@/lib/feedback', async (original) => ({
  ...(await original<typeof import('@/lib/feedback')>()),
  confirmDanger: vi.fn(async () => true),
}))

type Form = ReturnType<typeof form>
type Body = Record<string, unknown> & { sources: Record<string, unknown>; settings: Record<string, unknown> }

function form(room: Room | null = null, errors: Record<string, string> = {}) {
  return mount(RoomForm, { props: { room, errors }, attachTo: document.body })
}
const input = (w: Form, name: string) => w.get(`input[data-test="${name}"]`)
const payload = (w: Form) => (w.vm as unknown as { payload: () => Body | null }).payload()
const settle = () => new Promise((r) => setTimeout(r, 250))

const sources: RoomSources = {
  bilibili_room_id: 21452505, bilibili_cookie_set: true, bilibili_buvid_set: false, youtube_video_id: null,
  youtube_api_key_set: true, youtube_oauth_token_set: false, relay: false, relay_token_set: true, relay_token_hint: 'x9Qz',
  relay_events_url: '/api/rooms/3/relay/events', relay_ws_url: '/api/rooms/3/relay/ws',
}
const saved: Room = {
  id: 3, name: 'Live', platform: 'bilibili', server_url: 'rtmp://live-push.bilivideo.com/live-bvc/', stream_key: '****9f2a',
  settings: { audience: { answer: 'questions', blocked_users: ['bilibili:42'] } }, sources, destinations: [],
  created_at: '2030-01-01T00:00:00Z',
}

async function named(w: Form, field: string, value: string) {
  const el = input(w, field)
  await el.setValue(value)
  await el.trigger('change')
}

describe('the room form\'s live chat sources', { timeout: 30_000 }, () => {
  beforeEach(() => { document.body.innerHTML = '' })

  it('reads the video id from a pasted YouTube link, and the room id from a Bilibili link', async () => {
    const w = form()
    await input(w, 'room-name').setValue('Tea')
    const video = input(w, 'sources-youtube-video')
    ;(video.element as HTMLInputElement).value = 'https://www.youtube.com/live/jfKfPfyJRdk?feature=shared'
    await video.trigger('input') // typed, not yet left
    expect(w.get('[data-test="sources-youtube-read"]').text()).toBe('视频 ID：jfKfPfyJRdk')
    await video.trigger('change')
    expect((input(w, 'sources-youtube-video').element as HTMLInputElement).value).toBe('jfKfPfyJRdk')
    await named(w, 'sources-bilibili-room', 'https://live.bilibili.com/777?spm=1')
    expect(payload(w)?.sources).toEqual({ bilibili_room_id: 777, youtube_video_id: 'jfKfPfyJRdk', relay: false })
  })

  it('refuses a channel link at the field, saying what to paste instead', async () => {
    setLocale('en')
    const w = form()
    await input(w, 'room-name').setValue('Tea')
    await input(w, 'sources-youtube-video').setValue('https://www.youtube.com/@LofiGirl/live')
    expect(payload(w)).toBeNull()
    await settle()
    expect(w.text()).toContain('That is a channel\'s link: open the live and copy its watch link')
  })

  it('shows stored secrets only as "set", keeps them unless typed or cleared', async () => {
    const w = form(saved)
    expect(w.get('[data-test="sources-bilibili-cookie-state"]').text()).toBe('已设置')
    expect(w.get('[data-test="sources-bilibili-buvid-state"]').text()).toBe('未设置')
    expect(input(w, 'sources-bilibili-cookie').attributes('type')).toBe('password')
    expect((input(w, 'sources-bilibili-cookie').element as HTMLInputElement).value).toBe('')
    expect(payload(w)?.sources).toEqual({ bilibili_room_id: 21452505, youtube_video_id: null, relay: false })
    await w.get('[data-test="sources-bilibili-cookie-clear"]').trigger('click')
    expect(w.get('[data-test="sources-bilibili-cookie-state"]').text()).toBe('保存时清除')
    await input(w, 'sources-youtube-oauth-token').setValue('ya29.secret')
    expect(payload(w)?.sources).toEqual({
      bilibili_room_id: 21452505, youtube_video_id: null, relay: false, bilibili_cookie: '', youtube_oauth_token: 'ya29.secret',
    })
  })

  it('tests a platform with the form\'s unsaved values, and says how it went in the UI\'s language', async () => {
    const fake = installFakeFetch({
      'POST /api/rooms/3/sources/test': (req) => ({
        body: (req.body as { platform: string }).platform === 'bilibili'
          ? { ok: true, platform: 'bilibili', detail: { room_id: 777, title: '<b>茶叶</b>', live_status: 1 }, error: null, reason: null }
          : { ok: false, platform: 'youtube', detail: {}, error: 'the video has no live chat', reason: 'something_new' },
      }),
    })
    const w = form(saved)
    await named(w, 'sources-bilibili-room', '777')
    await input(w, 'sources-bilibili-buvid').setValue('buvid-1')
    await w.get('[data-test="sources-test-bilibili"]').trigger('click')
    await flushPromises()
    expect(fake.calls[0].body).toEqual({ platform: 'bilibili', bilibili_room_id: 777, bilibili_buvid: 'buvid-1' })
    const ok = w.get('[data-test="sources-test-bilibili-result"]')
    expect(ok.text()).toContain('连接成功')
    expect(ok.text()).toContain('title: <b>茶叶</b>')
    expect(ok.find('b').exists()).toBe(false)
    await named(w, 'sources-youtube-video', 'jfKfPfyJRdk')
    await w.get('[data-test="sources-test-youtube"]').trigger('click')
    await flushPromises()
    expect(fake.calls[1].body).toEqual({ platform: 'youtube', youtube_video_id: 'jfKfPfyJRdk' })
    const failed = w.get('[data-test="sources-test-youtube-result"]')
    expect(failed.text()).toBe('连接失败：the video has no live chat')
    expect(failed.classes()).toContain('failed')
  })

  it('cannot test or make a relay token before the room is saved', () => {
    const w = form()
    expect(w.get('[data-test="sources-test-bilibili"]').attributes('disabled')).toBeDefined()
    expect(w.get('[data-test="sources-relay-new"]').attributes('disabled')).toBeDefined()
    expect(w.get('[data-test="sources-relay-hint"]').text()).toBe('还没有令牌')
  })

  it('shows a new relay token and its full addresses once, then only its last 4 characters', async () => {
    installFakeFetch({
      'POST /api/rooms/3/relay-token': () => ({ status: 201, body: {
        token: 'lh_relay_abcdefghijklmnop1234', events_url: '/api/rooms/3/relay/events', ws_url: '/api/rooms/3/relay/ws',
      } }),
    })
    const w = form(saved)
    expect(w.get('[data-test="sources-relay-hint"]').text()).toBe('已设置，末 4 位 x9Qz')
    expect(w.find('[data-test="sources-relay-off"]').exists()).toBe(true) // a token, but relay is off
    await w.get('[data-test="sources-relay-new"]').trigger('click')
    await flushPromises()
    const value = (name: string) => (input(w, `sources-relay-issued-${name}`).element as HTMLInputElement).value
    expect(value('token')).toBe('lh_relay_abcdefghijklmnop1234')
    expect(value('events-url')).toBe(`${window.location.origin}/api/rooms/3/relay/events`)
    expect(value('ws-url')).toMatch(/^wss?:\/\/.+\/api\/rooms\/3\/relay\/ws$/)
    expect(w.get('[data-test="sources-relay-issued"]').text()).toContain('新令牌只显示这一次')
    expect(w.get('[data-test="sources-relay-hint"]').text()).toBe('已设置，末 4 位 1234')
    await w.get('[data-test="sources-relay-done"]').trigger('click')
    expect(w.find('[data-test="sources-relay-issued"]').exists()).toBe(false)
    expect(w.text()).not.toContain('lh_relay_abcdefghijklmnop1234')
  })
})

describe('the room form\'s audience settings', { timeout: 30_000 }, () => {
  beforeEach(() => { document.body.innerHTML = '' })

  it('sends every audience setting, the saved ones over the defaults', async () => {
    const w = form(saved)
    expect(payload(w)?.settings.audience).toEqual({
      answer: 'questions', keywords: [], host_names: [], replies_per_minute: 6, queue_size: 30, max_wait_s: 60,
      dedupe_window_s: 120, blocked_words: [], blocked_users: ['bilibili:42'], interrupt_on: ['superchat'],
      thank: ['gift', 'follow', 'guard'], thank_min_value: 0, thank_batch_s: 10, read_names: true,
    })
    // the room given is not edited by the form
    await w.get('[data-test="audience-read-names"]').trigger('click')
    expect(payload(w)?.settings.audience).toMatchObject({ read_names: false })
    expect(saved.settings.audience).toEqual({ answer: 'questions', blocked_users: ['bilibili:42'] })
  })

  it('asks for keywords when only comments with a keyword are answered', async () => {
    setLocale('en')
    const w = form()
    expect(w.find('[data-test="audience-keywords"]').exists()).toBe(false)
    await w.get('[data-test="audience-answer-keywords"] input').setValue(true)
    expect(w.get('[data-test="audience-answer-help"]').text()).toBe('Only comments holding one of the keywords below.')
    expect(w.get('[data-test="audience-keywords-none"]').text()).toContain('no comment would be answered')
  })

  it('shows the server\'s message under the audience field it is about', async () => {
    const w = form(saved, { 'settings.audience.queue_size': 'Input should be less than or equal to 500' })
    await settle()
    expect(w.text()).toContain('Input should be less than or equal to 500')
  })
})
