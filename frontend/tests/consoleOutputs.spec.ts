import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { installFakeFetch, page, type Handler } from './fakeFetch'
import { mountPage } from './mountPage'
import { setLocale } from '@/i18n'

// ECharts cannot draw in happy-dom; the console's charts are not what these tests are about
vi.mock('@/components/LiveCharts.vue', () => ({ default: { name: 'LiveCharts', render: () => null } }))

// "Delete the recording?" is answered yes
vi.mock('@/lib/feedback', async (original) => ({
  ...(await original<typeof import('@/lib/feedback')>()),
  confirmDanger: vi.fn(async () => true),
}))

/** hls.js stand-in: records what the player is given, and the test emits its events. */
const { FakeHls } = vi.hoisted(() => {
  type Listener = (event: string, data: unknown) => void
  class FakeHls {
    static made: FakeHls[] = []
    static isSupported = () => true
    static Events = { MANIFEST_PARSED: 'hlsManifestParsed', ERROR: 'hlsError' }
    static ErrorDetails = { MANIFEST_LOAD_ERROR: 'manifestLoadError' }
    static ErrorTypes = { NETWORK_ERROR: 'networkError', MEDIA_ERROR: 'mediaError' }
    listeners = new Map<string, Listener>()
    source = ''
    media: HTMLMediaElement | null = null
    destroyed = false
    constructor(public config: { xhrSetup?: (xhr: XMLHttpRequest, url: string) => void }) {
      FakeHls.made.push(this)
    }
    on(event: string, fn: Listener) { this.listeners.set(event, fn) }
    loadSource(url: string) { this.source = url }
    attachMedia(media: HTMLMediaElement) { this.media = media }
    recoverMediaError() {}
    destroy() { this.destroyed = true }
    emit(event: string, data: unknown = {}) { this.listeners.get(event)?.(event, data) }
  }
  return { FakeHls }
})
vi.mock('hls.js', () => ({ default: FakeHls }))

class FakeSource extends EventTarget {
  readyState = 0
  onopen: (() => void) | null = null
  constructor(public url: string) { super() }
  close() { this.readyState = 2 }
}

const now = () => Date.now() / 1000
const session = (status: string, live: Record<string, unknown> | null = null) => ({
  id: 9, schedule_id: null, room_id: 1, script_id: 1, avatar_id: 1, voice_id: 1, status, worker: 'w1',
  planned_end_at: null, started_at: '2030-01-01T00:00:00Z', ended_at: null, last_error: null, attempts: 1, position: {},
  created_by: 1, created_at: '2030-01-01T00:00:00Z', queue_position: null, live,
})

const DESTINATIONS = [
  { name: 'rtmp://live-push.bilivideo.com/live-bvc/****9f2a', connected: true, bitrate: 2_500_000, reconnects: 0, dropped: 0, error: null },
  { name: 'rtmp://a.rtmp.youtube.com/live2/****abcd', connected: false, bitrate: 0, reconnects: 2, dropped: 5,
    error: 'connection refused by a.rtmp.youtube.com:1935' },
  { name: 'recording', connected: true, bitrate: 2_400_000, reconnects: 0, dropped: 0, error: null },
  { name: 'preview', connected: true, bitrate: 2_400_000, reconnects: 0, dropped: 0, error: null },
]

const RECORDING = {
  session_id: 9, duration: 70, bytes: 3 * 1024 * 1024, complete: false, error: null,
  segments: [
    { file: 'seg-00000.ts', start: 0, duration: 60, bytes: 2 * 1024 * 1024, url: '/api/sessions/9/recording/seg-00000.ts' },
    { file: 'seg-00001.ts', start: 60, duration: 10, bytes: 1024 * 1024, url: '/api/sessions/9/recording/seg-00001.ts' },
  ],
}

function server(detail: ReturnType<typeof session>, more: Record<string, Handler> = {}) {
  return installFakeFetch({
    'GET /api/sessions/9': () => ({ body: detail }),
    'GET /api/sessions/9/compliance': () => ({ body: page([]) }),
    'GET /api/sessions/9/audience': () => ({ body: page([]) }),
    'GET /api/sessions/9/comments': () => ({ body: page([]) }),
    'GET /api/sessions/9/recording': () => ({ status: 404, body: { error: { code: 'not_found', message: 'session 9 has no recording' } } }),
    'GET /api/avatars/1': () => ({ body: { id: 1, name: 'Mia', actions: [] } }),
    'GET /api/rooms': () => ({ body: page([]) }),
    'GET /api/scripts': () => ({ body: page([]) }),
    'GET /api/voices': () => ({ body: page([]) }),
    ...more,
  })
}

const settle = async () => {
  await flushPromises()
  await new Promise((r) => setTimeout(r, 150))
  await flushPromises()
}

beforeEach(() => {
  document.body.innerHTML = ''
  FakeHls.made = []
  vi.stubGlobal('EventSource', FakeSource)
})

describe('the live console\'s outputs', { timeout: 60_000 }, () => {
  it('shows a row per destination: where, connected or reconnecting, bitrate, reconnects, dropped, error', async () => {
    server(session('live', { state: 'live', seconds: 10, fps: 25, updated_at: now(), connected: false, destinations: DESTINATIONS }))
    const { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    const rows = wrapper.findAll('[data-test="destination-row"]')
    expect(rows).toHaveLength(4)
    const cell = (i: number, what: string) => rows[i].get(`[data-test="destination-${what}"]`).text()
    expect(cell(0, 'name')).toBe('rtmp://live-push.bilivideo.com/live-bvc/****9f2a')
    expect(cell(0, 'state')).toBe('已连接')
    expect(cell(0, 'bitrate')).toBe('2.50 Mbit/s')
    expect(cell(1, 'state')).toBe('重连中')
    expect(cell(1, 'reconnects')).toBe('2')
    expect(cell(1, 'dropped')).toBe('5')
    expect(cell(1, 'error')).toBe('connection refused by a.rtmp.youtube.com:1935')
    expect(cell(2, 'name')).toBe('录像（保存到磁盘）')
    expect(cell(3, 'name')).toBe('预览（HLS）')
  })

  it('shows the encoder\'s preset, a warning when it stepped down, and a danger when overloaded, with how far behind', async () => {
    server(session('live', { state: 'live', updated_at: now(), encoder: { preset: 'veryfast', step: 0, behind_s: 0, overloaded: false } }))
    let { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    let tag = wrapper.get('[data-test="live-encoder"]')
    expect(tag.text()).toBe('veryfast')
    const kind = () => tag.get('.el-tag').classes()
    expect(kind()).toContain('el-tag--info')
    document.body.innerHTML = ''
    server(session('live', { state: 'live', updated_at: now(), encoder: { preset: 'ultrafast', step: 2, behind_s: 1.34, overloaded: true } }))
    ;({ wrapper } = await mountPage('/sessions/9', 'viewer'))
    await settle()
    tag = wrapper.get('[data-test="live-encoder"]')
    expect(tag.text()).toBe('ultrafast · 落后 1.3 秒')
    expect(kind()).toContain('el-tag--danger')
  })

  it('plays the preview with hls.js: the session\'s playlist, the token in the Authorization header', async () => {
    server(session('live', { state: 'live', updated_at: now() }))
    const { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    expect(FakeHls.made).toHaveLength(1)
    const player = FakeHls.made[0]
    const video = wrapper.get('[data-test="preview-video"]')
    expect(player.source).toBe('/api/sessions/9/preview/index.m3u8')
    expect(player.media).toBe(video.element)
    const xhr = { setRequestHeader: vi.fn() }
    player.config.xhrSetup?.(xhr as unknown as XMLHttpRequest, '/api/sessions/9/preview/seg-000001.ts')
    expect(xhr.setRequestHeader).toHaveBeenCalledWith('Authorization', 'Bearer tok')
    expect(player.source).not.toContain('tok')
    player.emit(FakeHls.Events.MANIFEST_PARSED)
    await flushPromises()
    expect(wrapper.get('[data-test="live-preview"]').attributes('data-state')).toBe('playing')
    expect(wrapper.find('[data-test="preview-message"]').exists()).toBe(false)
  })

  it('waits for a playlist that is not there yet (404 while the live starts) and asks again', async () => {
    server(session('starting', { state: 'starting', updated_at: now() }))
    const { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    FakeHls.made[0].emit(FakeHls.Events.ERROR, {
      fatal: true, type: 'networkError', details: 'manifestLoadError', response: { url: '', code: 404 },
    })
    await flushPromises()
    expect(wrapper.get('[data-test="preview-message"]').text()).toContain('暂无预览：直播正在启动')
    await new Promise((r) => setTimeout(r, 3300))
    await flushPromises()
    expect(FakeHls.made).toHaveLength(2)
    expect(FakeHls.made[0].destroyed).toBe(true)
    expect(FakeHls.made[1].source).toBe('/api/sessions/9/preview/index.m3u8')
  })

  it('says there is no preview when the live is not running, in the user\'s language', async () => {
    setLocale('en')
    server(session('queued'))
    const { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    expect(FakeHls.made).toHaveLength(0)
    expect(wrapper.get('[data-test="preview-message"]').text()).toBe('No preview: the live is not running.')
  })

  it('shows no preview for a past live', async () => {
    server(session('ended'))
    const { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    expect(wrapper.find('[data-test="preview-card"]').exists()).toBe(false)
    expect(FakeHls.made).toHaveLength(0)
  })
})

describe('a live\'s recording', { timeout: 60_000 }, () => {
  afterEach(() => vi.restoreAllMocks())

  it('lists the segments with duration and size, the total, and says it is incomplete', async () => {
    server(session('ended'), { 'GET /api/sessions/9/recording': () => ({ body: RECORDING }) })
    const { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    const segments = wrapper.findAll('[data-test="recording-segment"]')
    expect(segments).toHaveLength(2)
    expect(segments[0].get('[data-test="recording-segment-duration"]').text()).toBe('1:00')
    expect(segments[0].get('[data-test="recording-segment-size"]').text()).toBe('2.0 MB')
    expect(wrapper.get('[data-test="recording-total"]').text()).toBe('共 2 段，时长 1:10，3.0 MB')
    expect(wrapper.get('[data-test="recording-incomplete"]').text()).toContain('录像不完整')
    expect(wrapper.find('[data-test="recording-delete"]').exists()).toBe(false) // a viewer
  })

  it('downloads a segment with the token, under the live\'s name', async () => {
    const fake = server(session('ended'), {
      'GET /api/sessions/9/recording': () => ({ body: { ...RECORDING, complete: true } }),
      'GET /api/sessions/9/recording/seg-00001.ts': () => ({ body: 'TS', contentType: 'video/mp2t' }),
    })
    const createObjectURL = vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:segment')
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined)
    const saved: string[] = []
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      saved.push(`${this.download} ${this.href}`)
    })
    const { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    expect(wrapper.find('[data-test="recording-incomplete"]').exists()).toBe(false)
    await wrapper.get('[data-test="recording-download-seg-00001.ts"]').trigger('click')
    await settle()
    const got = fake.calls.find((c) => c.path === '/api/sessions/9/recording/seg-00001.ts')
    expect(got?.headers.authorization).toBe('Bearer tok')
    expect(createObjectURL).toHaveBeenCalledTimes(1)
    expect(saved).toEqual(['live-9-seg-00001.ts blob:segment'])
  })

  it('lets an operator delete it after asking, and then shows none', async () => {
    const fake = server(session('ended'), {
      'GET /api/sessions/9/recording': () => ({ body: RECORDING }),
      'DELETE /api/sessions/9/recording': () => ({ status: 204 }),
    })
    const { wrapper } = await mountPage('/sessions/9', 'operator')
    await settle()
    await wrapper.get('[data-test="recording-delete"]').trigger('click')
    await settle()
    expect(fake.calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/api/sessions/9/recording'])
    expect(wrapper.find('[data-test="recording-card"]').exists()).toBe(false)
    expect(document.body.textContent).toContain('录像已删除')
  })

  it('cannot be deleted while the live runs', async () => {
    server(session('live', { state: 'live', updated_at: now() }), { 'GET /api/sessions/9/recording': () => ({ body: RECORDING }) })
    const { wrapper } = await mountPage('/sessions/9', 'operator')
    await settle()
    expect(wrapper.get('[data-test="recording-delete"]').attributes('disabled')).toBeDefined()
    expect(wrapper.get('[data-test="recording-incomplete"]').text()).toContain('正在录制')
  })

  it('shows nothing for a live that was not recorded (404)', async () => {
    const fake = server(session('ended'))
    const { wrapper } = await mountPage('/sessions/9', 'operator')
    await settle()
    expect(fake.calls.some((c) => c.path === '/api/sessions/9/recording')).toBe(true)
    expect(wrapper.find('[data-test="recording-card"]').exists()).toBe(false)
    expect(document.body.textContent).not.toContain('no recording')
  })
})
