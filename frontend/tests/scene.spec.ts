/**
 * The scene (issue 15) in the dashboard: a room's scene settings sent with the room and drawn by
 * the preview, the media library's page (upload, delete refused while a scene uses a file), and
 * the live console's cards and music.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { installFakeFetch, page } from './fakeFetch'
import { fakeUploads } from './fakeUploads'
import { mountPage, settle } from './mountPage'
import RoomForm from '@/components/RoomForm.vue'
import type { Media, Room, RoomIn, SceneSettings } from '@/api/types'

// ECharts cannot draw in happy-dom; the console's charts are not what these tests are about
vi.mock('@/components/LiveCharts.vue', () => ({ default: { name: 'LiveCharts', render: () => null } }))
// "Delete ...?" is answered yes
vi.mock('@/lib/feedback', async (original) => ({
  ...(await original<typeof import('@/lib/feedback')>()),
  confirmDanger: vi.fn(async () => true),
}))

const media = (id: number, name: string, kind: Media['kind'], extra: Partial<Media> = {}): Media => ({
  id, name, kind, content_type: kind === 'image' ? 'image/png' : 'audio/mpeg', size: 2048, duration: kind === 'image' ? null : 65,
  width: kind === 'audio' ? null : 320, height: kind === 'audio' ? null : 180, created_at: '2030-01-01T00:00:00Z', ...extra,
})
const PNG = () => ({ body: new Uint8Array([137, 80, 78, 71]), contentType: 'image/png' })

describe('a room\'s scene in the room form', { timeout: 30_000 }, () => {
  beforeEach(() => {
    document.body.innerHTML = ''
    vi.stubGlobal('IntersectionObserver', undefined) // the preview counts as on screen
  })

  const room: Room = {
    id: 7, name: 'Tea', platform: 'douyin', server_url: 'rtmp://push-rtmp-l3.douyincdn.com/third', stream_key: '',
    destinations: [], created_at: '2030-01-01T00:00:00Z',
    settings: { scene: { logo: { media: 3, box: { x: 0.7, y: 0.03, w: 0.25, h: 0.1 } }, music: { playlist: [5], volume_db: -20, duck_db: 10 } } as Partial<SceneSettings> as SceneSettings },
  }

  it('shows the saved scene over the defaults, sends it back with the changes, and draws it in the preview', async () => {
    const fake = installFakeFetch({
      'GET /api/media': () => ({ body: page([media(3, 'Logo', 'image'), media(5, 'Loop', 'audio')]) }),
      'POST /api/scene/preview': PNG,
    })
    const w = mount(RoomForm, { props: { room }, attachTo: document.body })
    await flushPromises()
    expect(w.get('[data-test="scene-track-0"]').text()).toContain('Loop')
    await w.get('[data-test="scene-caption-style-outline"] input').setValue(true)
    await w.get('[data-test="scene-title"]').trigger('click')
    await w.get('input[data-test="scene-title-text"]').setValue('  春茶上新  ')
    await w.get('input[data-test="scene-card-be-right-back"]').setValue('马上回来')

    const body = (w.vm as unknown as { payload: () => RoomIn | null }).payload()
    expect(body?.settings?.scene).toEqual({
      captions: true, caption_style: 'outline', caption_box: { x: 0.05, y: 0.74, w: 0.9, h: 0.16 }, caption_size: 0.05,
      ai_label: 'auto', ai_label_text: '', ai_label_corner: 'top-right', background: { type: 'blur' },
      logo: { media: 3, box: { x: 0.7, y: 0.03, w: 0.25, h: 0.1 } },
      title: { text: '春茶上新', box: { x: 0.05, y: 0.1, w: 0.9, h: 0.07 }, size: 0.04 },
      product_card: true, product_card_box: { x: 0.04, y: 0.5, w: 0.5, h: 0.13 },
      cards: { starting_soon: '', be_right_back: '马上回来' },
      music: { playlist: [5], volume_db: -20, duck_db: 10 }, loudness: -16,
    })

    await new Promise((r) => setTimeout(r, 700)) // the preview waits half a second after the last change
    await flushPromises()
    const previews = fake.calls.filter((c) => c.path === '/api/scene/preview')
    expect(previews).toHaveLength(1)
    expect(previews[0].body).toMatchObject({ room_id: 7, width: 720, height: 1280, scene: { caption_style: 'outline', title: { text: '春茶上新' } } })
    expect(w.find('[data-test="scene-preview-img"]').exists()).toBe(true)
  })

  it('refuses an image background with no image chosen, at the field', async () => {
    installFakeFetch({ 'GET /api/media': () => ({ body: page([]) }), 'POST /api/scene/preview': PNG })
    const w = mount(RoomForm, { props: { room: null }, attachTo: document.body })
    await w.get('input[data-test="room-name"]').setValue('Tea')
    await w.get('[data-test="scene-background-image"] input').setValue(true)
    expect((w.vm as unknown as { payload: () => unknown }).payload()).toBeNull()
    await settle()
    const errors = w.get('[data-test="scene-settings"]').findAll('.el-form-item__error').map((e) => e.text())
    expect(errors).toEqual(['请选择一张图片'])
  })
})

describe('the media page', { timeout: 30_000 }, () => {
  beforeEach(() => { document.body.innerHTML = '' })

  it('uploads a file with its name and lists it', async () => {
    installFakeFetch({
      'GET /api/media': () => ({ body: page([media(1, 'Logo', 'image')]) }),
      'GET /api/media/1/file': PNG,
      'GET /api/media/2/file': PNG,
    })
    const uploads = fakeUploads(() => ({ status: 201, body: media(2, 'spring loop', 'audio') }))
    const { wrapper } = await mountPage('/media', 'operator')
    expect(wrapper.get('[data-test="media-table"]').text()).toContain('Logo')

    const input = wrapper.get('[data-test="media-upload"] input[type="file"]')
    const file = new File([new Uint8Array(16)], 'spring loop.mp3', { type: 'audio/mpeg' })
    Object.defineProperty(input.element, 'files', { value: [file], configurable: true })
    await input.trigger('change')
    await flushPromises()
    await uploads.answer()

    expect(uploads.sent).toHaveLength(1)
    expect((uploads.sent[0].form.get('file') as File).name).toBe('spring loop.mp3')
    expect(uploads.sent[0].form.get('name')).toBe('spring loop')
    expect(wrapper.get('[data-test="media-table"]').text()).toContain('spring loop')
    expect(wrapper.find('[data-test="media-play-2"]').exists()).toBe(true)
    expect(wrapper.find('[data-test="media-upload-row"]').exists()).toBe(false)
  })

  it('says which rooms use a file it cannot delete (409 in_use)', async () => {
    installFakeFetch({
      'GET /api/media': () => ({ body: page([media(5, 'Loop', 'audio')]) }),
      'GET /api/rooms': () => ({ body: page([{ id: 2, name: '茶叶直播间', platform: 'douyin', server_url: '', stream_key: '', settings: {}, created_at: '2030-01-01T00:00:00Z' }]) }),
      'DELETE /api/media/5': () => ({ status: 409, body: { error: { code: 'conflict', reason: 'in_use',
        message: 'media 5 is used by room 2; stop or delete those first', params: { what: 'media', id: 5, users: 'room 2', rooms: [2] } } } }),
    })
    const { wrapper } = await mountPage('/media', 'operator')
    await wrapper.get('[data-test="media-delete-5"]').trigger('click')
    await flushPromises()
    expect(document.body.textContent).toContain('“Loop”正被 茶叶直播间 的画面使用，请先在那里移除')
    expect(document.body.textContent).not.toContain('is used by')
    expect(wrapper.get('[data-test="media-table"]').text()).toContain('Loop')
  })

  it('offers no upload or delete to a viewer', async () => {
    installFakeFetch({ 'GET /api/media': () => ({ body: page([media(5, 'Loop', 'audio')]) }) })
    const { wrapper } = await mountPage('/media', 'viewer')
    expect(wrapper.find('[data-test="media-upload"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="media-delete-5"]').exists()).toBe(false)
  })
})

describe('the live console\'s scene', { timeout: 30_000 }, () => {
  class FakeSource extends EventTarget {
    readyState = 0
    onopen: (() => void) | null = null
    close() { this.readyState = 2 }
  }
  beforeEach(() => {
    document.body.innerHTML = ''
    vi.stubGlobal('EventSource', FakeSource)
  })

  const session = {
    id: 9, schedule_id: null, room_id: 1, script_id: 1, avatar_id: 1, voice_id: 1, status: 'live', worker: 'w1',
    planned_end_at: null, started_at: '2030-01-01T00:00:00Z', ended_at: null, last_error: null, attempts: 1, position: {},
    created_by: 1, created_at: '2030-01-01T00:00:00Z', queue_position: null,
    live: {
      state: 'live', seconds: 10, fps: 25, updated_at: Date.now() / 1000,
      scene: { card: 'be_right_back', music: { track: 'media/5.mp3', tracks: 2, playing: true, errors: 0, ducked: true } },
    },
  }

  it('shows the card on air and the music, and sends the card buttons', async () => {
    const fake = installFakeFetch({
      'GET /api/sessions/9': () => ({ body: session }),
      'GET /api/sessions/9/audience': () => ({ body: page([]) }),
      'GET /api/sessions/9/comments': () => ({ body: page([]) }),
      'GET /api/sessions/9/compliance': () => ({ body: page([]) }),
      'GET /api/avatars/1': () => ({ body: { id: 1, name: 'Mia', actions: [] } }),
      'GET /api/rooms': () => ({ body: page([]) }),
      'GET /api/scripts': () => ({ body: page([]) }),
      'GET /api/voices': () => ({ body: page([]) }),
      'POST /api/sessions/9/card': () => ({ status: 202, body: { id: 'c1', sent: true } }),
    })
    const { wrapper } = await mountPage('/sessions/9', 'operator')
    await flushPromises()
    expect(wrapper.get('[data-test="card-flag"]').text()).toContain('马上回来')
    expect(wrapper.get('[data-test="live-music"]').text()).toBe('5.mp3 · 共 2 首 · 人声时已压低')

    await wrapper.get('[data-test="card-starting-soon"]').trigger('click')
    await flushPromises()
    await wrapper.get('[data-test="card-clear"]').trigger('click')
    await flushPromises()
    const cards = fake.calls.filter((c) => c.method === 'POST' && c.path === '/api/sessions/9/card')
    expect(cards.map((c) => c.body)).toEqual([{ card: 'starting_soon' }, { card: null }])
  })
})
