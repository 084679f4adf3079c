import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { installFakeFetch, jsonError } from './fakeFetch'
import RoomForm from '@/components/RoomForm.vue'
import { setLocale } from '@/i18n'
import type { Room } from '@/api/types'

function form(room: Room | null = null) {
  return mount(RoomForm, { props: { room }, attachTo: document.body })
}

const label = (w: ReturnType<typeof form>, which: 'server' | 'key') => w.get(`[data-test="room-${which}-label"]`).text()
const input = (w: ReturnType<typeof form>, name: string) => w.get(`input[data-test="${name}"]`)

/** Element Plus shows a form item's error after a short debounce. */
const settle = () => new Promise((r) => setTimeout(r, 250))

async function pick(w: ReturnType<typeof form>, platform: string) {
  await w.get(`[data-test="room-platform-${platform}"] input`).setValue(true)
}

describe('RoomForm platform presets', { timeout: 30_000 }, () => {
  it('shows each platform in its own words: Bilibili 服务器地址/串流密钥, Douyin 推流地址/推流密钥', async () => {
    const w = form()
    expect(label(w, 'server')).toBe('服务器地址')
    expect(label(w, 'key')).toBe('串流密钥')
    expect((input(w, 'room-server-url').element as HTMLInputElement).value).toBe('rtmp://live-push.bilivideo.com/live-bvc/')
    await pick(w, 'douyin')
    expect(label(w, 'server')).toBe('推流地址')
    expect(label(w, 'key')).toBe('推流密钥')
    expect((input(w, 'room-server-url').element as HTMLInputElement).value).toContain('douyincdn.com')
    await pick(w, 'youtube')
    expect(label(w, 'key')).toBe('串流密钥')
    expect((input(w, 'room-server-url').element as HTMLInputElement).value).toBe('rtmp://a.rtmp.youtube.com/live2')
  })

  it('keeps a server the user typed when the platform changes', async () => {
    const w = form()
    await input(w, 'room-server-url').setValue('rtmp://my-ingest:1935/live')
    await pick(w, 'kuaishou')
    expect((input(w, 'room-server-url').element as HTMLInputElement).value).toBe('rtmp://my-ingest:1935/live')
  })

  it('masks the key, and speaks English when asked', async () => {
    setLocale('en')
    const w = form()
    expect(input(w, 'room-stream-key').attributes('type')).toBe('password')
    await pick(w, 'youtube')
    expect(label(w, 'server')).toBe('Stream URL')
    expect(label(w, 'key')).toBe('Stream key')
  })

  it('builds the payload, and refuses a push URL that is not rtmp(s) at the field', async () => {
    const w = form()
    await input(w, 'room-name').setValue('Tea shop')
    await input(w, 'room-stream-key').setValue('?streamname=live_1&key=abc')
    const vm = w.vm as unknown as { payload: () => unknown }
    expect(vm.payload()).toMatchObject({
      name: 'Tea shop', platform: 'bilibili', server_url: 'rtmp://live-push.bilivideo.com/live-bvc/',
      stream_key: '?streamname=live_1&key=abc', settings: { interrupt_gap_ms: 1000, speech_during_action: 'wait' },
    })
    await input(w, 'room-server-url').setValue('http://example.com/live')
    expect(vm.payload()).toBeNull()
    await settle()
    expect(w.text()).toContain('推流地址须以 rtmp:// 或 rtmps:// 开头')
  })

  it('editing a room keeps its stored key unless a new one is typed, and shows its hint', async () => {
    const room: Room = {
      id: 7, name: 'Live', platform: 'douyin', server_url: 'rtmp://push-rtmp-l3.douyincdn.com/third', stream_key: '****9f2a',
      settings: { persona: 'Mia', keyword_replies: { 价格: '九块九' } }, destinations: [], created_at: '2030-01-01T00:00:00Z',
    }
    const w = form(room)
    expect(label(w, 'key')).toBe('推流密钥')
    expect(input(w, 'room-stream-key').attributes('placeholder')).toContain('****9f2a')
    const vm = w.vm as unknown as { payload: () => Record<string, unknown> }
    const body = vm.payload()
    expect(body).not.toHaveProperty('stream_key')
    expect(body.settings).toMatchObject({ persona: 'Mia', keyword_replies: { 价格: '九块九' }, max_reply_chars: 300 })
  })

  it('refuses a push URL without a host ("rtmp://" alone) with that reason, not "must start with rtmp://"', async () => {
    const w = form()
    await input(w, 'room-name').setValue('Tea shop')
    const vm = w.vm as unknown as { payload: () => unknown }
    for (const url of ['rtmp://', 'rtmps://', 'rtmp://:1935/live']) {
      await input(w, 'room-server-url').setValue(url)
      expect(vm.payload()).toBeNull()
      await settle()
      expect(w.text()).toContain('推流地址缺少主机名')
      expect(w.text()).not.toContain('须以 rtmp:// 或 rtmps:// 开头')
    }
    await input(w, 'room-server-url').setValue('rtmp://ingest.example.com/live?key=1')
    expect(vm.payload()).toBeNull()
    await settle()
    expect(w.text()).toContain('推流地址不能含空格、? 或 #')
    await input(w, 'room-server-url').setValue('rtmp://ingest.example.com:1935/live')
    expect(vm.payload()).not.toBeNull()
  })

  it('shows server-side field errors under their fields', async () => {
    const w = mount(RoomForm, { props: { errors: { 'settings.interrupt_gap_ms': 'Input should be greater than or equal to 0' } } })
    await settle()
    expect(w.text()).toContain('Input should be greater than or equal to 0')
  })
})

describe('RoomForm test push', { timeout: 30_000 }, () => {
  afterEach(() => vi.unstubAllGlobals())

  const saved: Room = {
    id: 3, name: 'Live', platform: 'custom', server_url: 'rtmp://ingest.example.com/live', stream_key: '****9f2a',
    settings: {}, destinations: [], created_at: '2030-01-01T00:00:00Z',
  }

  it('is not offered before the room is saved', () => {
    const w = form()
    expect(w.get('[data-test="room-test-push"]').attributes('disabled')).toBeDefined()
  })

  it('pushes the saved room and says where it went', async () => {
    setLocale('en')
    const { calls } = installFakeFetch({
      'POST /api/rooms/3/test-push': () => ({
        body: { ok: true, url: 'rtmp://ingest.example.com/live/***', seconds: 3, connect_ms: 42, error: null },
      }),
    })
    const w = form(saved)
    await w.get('[data-test="room-test-push"]').trigger('click')
    await flushPromises()
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /api/rooms/3/test-push'])
    expect(calls[0].body).toEqual({ seconds: 3, server_url: 'rtmp://ingest.example.com/live' })
    expect(w.get('[data-test="room-test-push-result"]').text())
      .toBe('Pushed 3 s to rtmp://ingest.example.com/live/*** (connected in 42 ms)')
  })

  it('pushes what the form holds: the server URL not yet saved and a newly typed key', async () => {
    const { calls } = installFakeFetch({
      'POST /api/rooms/3/test-push': () => ({
        body: { ok: true, url: 'rtmp://other.example.com/app/***', seconds: 3, connect_ms: 12, error: null, reason: null, params: {}, warnings: [] },
      }),
    })
    const w = form(saved)
    await input(w, 'room-server-url').setValue('rtmp://other.example.com/app')
    await input(w, 'room-stream-key').setValue('new-key')
    await w.get('[data-test="room-test-push"]').trigger('click')
    await flushPromises()
    expect(calls[0].body).toEqual({ seconds: 3, server_url: 'rtmp://other.example.com/app', stream_key: 'new-key' })
    expect(w.get('[data-test="room-test-push-result"]').text()).toContain('rtmp://other.example.com/app/***')
  })

  it('does not push to a server URL without a host, and says why at the field', async () => {
    const { calls } = installFakeFetch({})
    const w = form(saved)
    await input(w, 'room-server-url').setValue('rtmp://')
    await w.get('[data-test="room-test-push"]').trigger('click')
    await flushPromises()
    await settle()
    expect(calls).toHaveLength(0)
    expect(w.text()).toContain('推流地址缺少主机名')
  })

  it('says why a push failed in the UI language, from its reason (not the server\'s English)', async () => {
    installFakeFetch({
      'POST /api/rooms/3/test-push': () => ({
        body: { ok: false, url: 'rtmp://ingest.example.com/live/***', seconds: 0, connect_ms: null,
          error: 'cannot connect to RTMP server ingest.example.com:1935: Connection refused',
          reason: 'rtmp_unreachable', params: { host: 'ingest.example.com', port: 1935 }, warnings: [] },
      }),
    })
    const w = form(saved)
    await w.get('[data-test="room-test-push"]').trigger('click')
    await flushPromises()
    const result = w.get('[data-test="room-test-push-result"]')
    expect(result.text()).toBe('测试推流失败：连不上推流服务器 ingest.example.com:1935：请检查地址、端口和网络')
    expect(result.classes()).toContain('failed')
  })

  it('warns when a push worked without a stream key (the platform would refuse it)', async () => {
    installFakeFetch({
      'POST /api/rooms/3/test-push': () => ({
        body: { ok: true, url: 'rtmp://live-push.bilivideo.com/live-bvc', seconds: 3, connect_ms: 30, error: null,
          reason: null, params: {}, warnings: ['no_stream_key'] },
      }),
    })
    const w = form({ ...saved, platform: 'bilibili', server_url: 'rtmp://live-push.bilivideo.com/live-bvc', stream_key: '' })
    await w.get('[data-test="room-test-push"]').trigger('click')
    await flushPromises()
    expect(w.get('[data-test="room-test-push-result"]').classes()).not.toContain('failed')
    expect(w.get('[data-test="room-test-push-warning"]').text()).toContain('这个直播间没有推流密钥')
  })

  it('an older server\'s failure without a reason keeps its words', async () => {
    setLocale('en')
    installFakeFetch({
      'POST /api/rooms/3/test-push': () => ({
        body: { ok: false, url: 'rtmp://ingest.example.com/live/***', seconds: 0, connect_ms: null,
          error: 'cannot connect to RTMP server ingest.example.com:1935: Connection refused' },
      }),
    })
    const w = form(saved)
    await w.get('[data-test="room-test-push"]').trigger('click')
    await flushPromises()
    const result = w.get('[data-test="room-test-push-result"]')
    expect(result.text()).toBe('Test push failed: cannot connect to RTMP server ingest.example.com:1935: Connection refused')
    expect(result.classes()).toContain('failed')
  })

  it('says so when the API refuses (a live uses the room)', async () => {
    installFakeFetch({
      'POST /api/rooms/3/test-push': () => jsonError(409, 'room_busy', 'room 3 is in use by session 9: a test push would cut into it'),
    })
    const w = form(saved)
    await w.get('[data-test="room-test-push"]').trigger('click')
    await flushPromises()
    expect(document.body.textContent).toContain('room 3 is in use by session 9')
  })
})
