/**
 * The voices page: GPT-SoVITS and CosyVoice voices (a server's URL and parameters, the settings their
 * server lacks turned off), the server's complaints under the fields they are about, a cloned voice's
 * reference clip (uploaded with progress, refused with the server's words, played with the sign-in,
 * replaced and deleted), a preview of any engine, and a viewer's read-only list.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { bearer, installFakeFetch, jsonError, page, type FakeRequest } from './fakeFetch'
import { fakeUploads } from './fakeUploads'
import { mountPage, settle } from './mountPage'
import { paramRow, paramsPayload, placeParamErrors } from '@/lib/voiceEngines'

// "Delete ...?" is answered yes
vi.mock('@/lib/feedback', async (original) => ({
  ...(await original<typeof import('@/lib/feedback')>()),
  confirmDanger: vi.fn(async () => true),
}))

const CLIP = { text: '大家好，欢迎来到直播间', seconds: 5, sample_rate: 32000, uploaded_at: '2030-01-02T00:00:00Z' }

function voice(id: number, over: Record<string, unknown> = {}) {
  return {
    id, name: `voice ${id}`, engine: 'espeak', voice: '', rate: 0, pitch: 0, params: {}, reference: null,
    spec: 'espeak', created_at: '2030-01-01T00:00:00Z', ...over,
  }
}
const SOVITS = voice(3, { name: '主播克隆', engine: 'gptsovits', voice: 'http://10.0.0.5:9880', params: { prompt_lang: 'zh', top_k: '5' },
  spec: 'gptsovits:http://10.0.0.5:9880?prompt_lang=zh&top_k=5' })
const COSY = voice(4, { name: 'Cosy', engine: 'cosyvoice', voice: 'http://10.0.0.6:50000', params: { mode: 'sft', spk_id: '中文女' },
  spec: 'cosyvoice:http://10.0.0.6:50000?mode=sft&spk_id=中文女' })

const q = (name: string) => document.querySelector(`[data-test="${name}"]`) as HTMLElement | null
const input = (name: string) => document.querySelector(
  `[data-test="${name}"] input, [data-test="${name}"] textarea, input[data-test="${name}"], textarea[data-test="${name}"]`) as HTMLInputElement

async function type(name: string, value: string) {
  const el = input(name)
  el.value = value
  el.dispatchEvent(new Event('input'))
  await flushPromises()
}

async function click(name: string) {
  q(name)!.click()
  await flushPromises()
}

async function pickEngine(engine: string) {
  const radio = document.querySelector(`[data-test="voice-engine-${engine}"] input`) as HTMLInputElement
  radio.checked = true
  radio.dispatchEvent(new Event('change'))
  await flushPromises()
}

/** The message Element Plus shows under the form item holding `name`. */
function errorAt(name: string): string | undefined {
  const item = q(name)?.closest('.el-form-item')
  const own = [...(item?.querySelectorAll('.el-form-item__error') ?? [])].find((e) => e.closest('.el-form-item') === item)
  return own?.textContent?.trim()
}

const disabled = (slider: string) => !!document.querySelector(`[data-test="${slider}"] .el-slider__runway.is-disabled`)

async function pickFile(file: File) {
  const el = document.querySelector('[data-test="voice-reference-pick"] input[type="file"]') as HTMLInputElement
  Object.defineProperty(el, 'files', { value: [file], configurable: true })
  el.dispatchEvent(new Event('change'))
  await flushPromises()
}

const wav = (name = 'host.wav') => new File([new Uint8Array(64)], name, { type: 'audio/wav' })
const WAV_ANSWER = () => ({ body: new Uint8Array([82, 73, 70, 70]), contentType: 'audio/wav' })

describe('the voices page', { timeout: 30_000 }, () => {
  beforeEach(() => { document.body.innerHTML = '' })

  it('creates a GPT-SoVITS voice from its server URL and parameters, then opens it for its reference clip', async () => {
    let saved: Record<string, unknown> | null = null
    const fake = installFakeFetch({
      'GET /api/voices': () => ({ body: page(saved ? [saved] : []) }),
      'POST /api/voices': (req) => {
        saved = voice(9, { ...(req.body as object), spec: 'gptsovits:http://127.0.0.1:9880?top_k=5' })
        return { status: 201, body: saved }
      },
    })
    const { wrapper } = await mountPage('/voices', 'operator')
    await wrapper.get('[data-test="voice-create"]').trigger('click')
    await flushPromises()
    await type('voice-name', '主播克隆')
    await pickEngine('gptsovits')

    expect(input('voice-server-url').placeholder).toBe('http://127.0.0.1:9880')
    expect(q('voice-voice')).toBeNull() // no voice list: the server's URL instead
    expect(disabled('voice-pitch')).toBe(true)
    expect(disabled('voice-rate')).toBe(false)
    expect(q('voice-reference-after-save')?.textContent).toContain('保存后')

    await type('voice-server-url', 'http://127.0.0.1:9880')
    await click('voice-param-add-top_k') // a common key, one click
    expect(input('voice-param-key-0').value).toBe('top_k')
    expect(q('voice-param-0')?.textContent).toContain('越小越稳') // its line of help
    await type('voice-param-value-0', '5')
    await click('voice-param-add')
    await type('voice-param-key-1', 'temperature')
    await type('voice-param-value-1', '0.8')
    await click('voice-param-add') // an empty row is left out
    await click('voice-save')
    await settle()

    const posted = fake.calls.filter((c) => c.method === 'POST')
    expect(posted).toHaveLength(1)
    expect(posted[0].body).toEqual({ name: '主播克隆', engine: 'gptsovits', voice: 'http://127.0.0.1:9880', rate: 0, pitch: 0,
      params: { top_k: '5', temperature: '0.8' } })
    expect(document.body.textContent).toContain('已保存，现在可以上传参考音频')
    // the dialog is the saved voice's now, with its reference clip to upload
    expect(q('voice-dialog')?.textContent).toContain('编辑音色')
    expect(q('voice-reference-form')).not.toBeNull()
    expect(q('voice-reference')?.textContent).toContain('LIVEHOST_VOICE_REF_DIR')
  })

  it('refuses a URL without http(s) and a malformed parameter name before sending', async () => {
    const fake = installFakeFetch({ 'GET /api/voices': () => ({ body: page([]) }) })
    const { wrapper } = await mountPage('/voices', 'operator')
    await wrapper.get('[data-test="voice-create"]').trigger('click')
    await flushPromises()
    await type('voice-name', 'x')
    await pickEngine('cosyvoice')
    expect(input('voice-server-url').placeholder).toBe('http://127.0.0.1:50000')
    await type('voice-server-url', '10.0.0.6:50000')
    await click('voice-param-add')
    await type('voice-param-key-0', 'Spk ID')
    await type('voice-param-value-0', '中文女')
    await click('voice-save')
    await settle()
    expect(fake.calls.filter((c) => c.method === 'POST')).toHaveLength(0)
    expect(errorAt('voice-server-url')).toBe('服务地址要以 http:// 或 https:// 开头，例如 http://127.0.0.1:50000')
    expect(q('voice-param-error-0')?.textContent).toBe('参数名只能用小写字母、数字和下划线，并以字母开头')
  })

  it('shows the server\'s 422 under the URL, the parameter it names, and the rate', async () => {
    const answers = [
      jsonError(422, 'invalid', 'voice: bad', { voice: 'a gptsovits voice is its server\'s URL, e.g. http://127.0.0.1:9880',
        'params.top_k': 'String should have at most 500 characters' }),
      jsonError(422, 'invalid', 'params: ...', { params: "gptsovits parameter top_k must be an integer, got 'many'" }),
      jsonError(422, 'invalid', 'params: ...', { params: "unknown gptsovits parameter 'volume_boost'; it accepts text_lang, top_k" }),
      jsonError(422, 'invalid', 'rate: ...', { rate: 'CosyVoice\'s server has no speed setting; leave the rate at 0' }),
    ]
    installFakeFetch({
      'GET /api/voices': () => ({ body: page([SOVITS]) }),
      'PATCH /api/voices/3': () => answers.shift()!,
    })
    const { wrapper } = await mountPage('/voices', 'operator')
    await wrapper.get('[data-test="voice-edit-3"]').trigger('click')
    await flushPromises()
    expect(input('voice-server-url').value).toBe('http://10.0.0.5:9880')
    expect([input('voice-param-key-0').value, input('voice-param-value-0').value]).toEqual(['prompt_lang', 'zh'])
    expect([input('voice-param-key-1').value, input('voice-param-value-1').value]).toEqual(['top_k', '5'])

    await click('voice-save')
    await settle()
    expect(errorAt('voice-server-url')).toContain("server's URL")
    expect(q('voice-param-error-1')?.textContent).toBe('String should have at most 500 characters')
    expect(q('voice-param-error-0')).toBeNull()

    await click('voice-save') // a message of the streamer naming a row's parameter goes under that row
    await settle()
    expect(q('voice-param-error-1')?.textContent).toContain('must be an integer')
    expect(errorAt('voice-params')).toBeFalsy()

    await click('voice-param-add')
    await type('voice-param-key-2', 'volume_boost')
    await type('voice-param-value-2', '2')
    await click('voice-save')
    await settle()
    expect(q('voice-param-error-2')?.textContent).toContain("unknown gptsovits parameter 'volume_boost'")
    expect(q('voice-param-error-1')).toBeNull()

    await click('voice-save')
    await settle()
    expect(errorAt('voice-rate')).toContain('no speed setting')
  })

  it('a CosyVoice voice has neither rate nor pitch; changing to it sets both to 0', async () => {
    const fake = installFakeFetch({
      'GET /api/voices': () => ({ body: page([voice(1, { engine: 'edge', voice: 'zh-CN-XiaoxiaoNeural', rate: 20, pitch: 10 }), COSY]) }),
      'PATCH /api/voices/1': (req) => ({ body: { ...voice(1), ...(req.body as object) } }),
    })
    const { wrapper } = await mountPage('/voices', 'operator')
    await wrapper.get('[data-test="voice-edit-4"]').trigger('click')
    await flushPromises()
    expect(disabled('voice-rate')).toBe(true)
    expect(disabled('voice-pitch')).toBe(true)
    expect(q('voice-rate')?.closest('.el-form-item')?.textContent).toContain('CosyVoice 不支持调节语速')
    q('voice-dialog')?.querySelector<HTMLElement>('.el-dialog__footer .el-button')?.click() // cancel
    await flushPromises()

    await wrapper.get('[data-test="voice-edit-1"]').trigger('click')
    await flushPromises()
    await pickEngine('cosyvoice')
    await type('voice-server-url', 'http://10.0.0.6:50000')
    await click('voice-param-add-spk_id')
    await type('voice-param-value-0', '中文女')
    await click('voice-save')
    await flushPromises()
    const patched = fake.calls.find((c) => c.method === 'PATCH')!
    expect(patched.body).toMatchObject({ engine: 'cosyvoice', voice: 'http://10.0.0.6:50000', rate: 0, pitch: 0, params: { spk_id: '中文女' } })
  })

  it('uploads a reference clip with its transcript and progress; the server\'s refusal is said at the file', async () => {
    let current: Record<string, unknown> = { ...SOVITS }
    const fake = installFakeFetch({
      'GET /api/voices': () => ({ body: page([current]) }),
      'GET /api/voices/3/reference': WAV_ANSWER,
      'DELETE /api/voices/3/reference': () => {
        current = { ...current, reference: null }
        return { body: current }
      },
    })
    const answers = [
      jsonError(422, 'invalid', 'file: ...', { file: 'the clip is 2.0 s long; a reference clip must be 3 to 10 s' }),
      jsonError(413, 'too_large', 'a reference clip is limited to 20 MB'),
    ]
    let progressSeen = false
    const uploads = fakeUploads(() => {
      const next = answers.shift()
      if (next) return { status: next.status ?? 422, body: next.body }
      current = { ...current, reference: CLIP }
      return { status: 200, body: current }
    })
    const { wrapper } = await mountPage('/voices', 'operator')
    await wrapper.get('[data-test="voice-edit-3"]').trigger('click')
    await flushPromises()

    await click('voice-reference-upload') // nothing picked yet
    await settle()
    expect(errorAt('voice-reference-pick')).toBe('请选择一个音频文件')
    expect(errorAt('voice-reference-text')).toBe('请写下录音里说的话')
    expect(uploads.sent).toHaveLength(0)

    await pickFile(new File(['x'], 'notes.pdf', { type: 'application/pdf' }))
    await settle()
    expect(errorAt('voice-reference-pick')).toBe('请选择音频文件（WAV、MP3、M4A 等）')

    await pickFile(wav('short.wav'))
    expect(q('voice-reference-file')?.textContent).toBe('short.wav')
    await type('voice-reference-text', CLIP.text)
    await click('voice-reference-upload')
    progressSeen = !!q('voice-reference-progress')
    await uploads.answer()
    await settle()
    expect(progressSeen).toBe(true)
    expect(uploads.sent[0].url).toBe('/api/voices/3/reference')
    expect(uploads.sent[0].method).toBe('PUT')
    expect(uploads.sent[0].token).toBe('tok')
    expect((uploads.sent[0].form.get('file') as File).name).toBe('short.wav')
    expect(uploads.sent[0].form.get('text')).toBe(CLIP.text)
    expect(errorAt('voice-reference-pick')).toBe('the clip is 2.0 s long; a reference clip must be 3 to 10 s')

    await click('voice-reference-upload')
    await uploads.answer()
    await settle()
    expect(errorAt('voice-reference-pick')).toContain('a reference clip is limited to 20 MB')
    expect(document.querySelector('.el-message--error')).toBeNull() // said at the field, no toast

    await click('voice-reference-upload')
    await uploads.answer()
    expect(uploads.sent).toHaveLength(3)
    expect(q('voice-reference-form')).toBeNull()
    expect(q('voice-reference-current')?.textContent).toContain(CLIP.text)
    expect(q('voice-reference-facts')?.textContent).toContain('5.0 秒 · 32000 Hz')
    // the player's clip is fetched with the sign-in
    const got = fake.calls.filter((c: FakeRequest) => c.path === '/api/voices/3/reference' && c.method === 'GET')
    expect(got).toHaveLength(1)
    expect(bearer(got[0])).toBe('tok')
    expect((q('voice-clip-audio-3') as HTMLAudioElement | null)?.getAttribute('src')).toMatch(/^blob:/)
    // the list shows it too
    expect(wrapper.get('[data-test="voice-clip-3"]').text()).toContain('5.0 秒')

    await click('voice-reference-replace')
    expect(q('voice-reference-form')).not.toBeNull()
    await click('voice-reference-cancel')
    expect(q('voice-reference-form')).toBeNull()

    await click('voice-reference-delete')
    await flushPromises()
    expect(fake.calls.some((c) => c.method === 'DELETE' && c.path === '/api/voices/3/reference')).toBe(true)
    expect(q('voice-reference-current')).toBeNull()
    expect(q('voice-reference-form')).not.toBeNull()
  })

  it('previews any engine, and says in the dialog why a server voice could not speak (503)', async () => {
    const fake = installFakeFetch({
      'GET /api/voices': () => ({ body: page([COSY]) }),
      'POST /api/voices/4/preview': () => jsonError(503, 'unavailable',
        'cosyvoice could not speak: CosyVoice server http://10.0.0.6:50000 cannot be reached'),
    })
    const { wrapper } = await mountPage('/voices', 'operator')
    await wrapper.get('[data-test="voice-preview-4"]').trigger('click')
    await flushPromises()
    await click('voice-preview-play')
    expect(fake.calls.some((c) => c.method === 'POST' && c.path === '/api/voices/4/preview')).toBe(true)
    expect(q('voice-preview-error')?.textContent).toContain('服务暂不可用: cosyvoice could not speak: CosyVoice server http://10.0.0.6:50000 cannot be reached')
    expect(q('voice-preview-audio')).toBeNull()
  })

  it('a viewer sees the voices and can play a clip, but edits nothing', async () => {
    const fake = installFakeFetch({
      'GET /api/voices': () => ({ body: page([{ ...SOVITS, reference: CLIP }, COSY]) }),
      'GET /api/voices/3/reference': WAV_ANSWER,
    })
    const { wrapper } = await mountPage('/voices', 'viewer')
    const table = wrapper.get('[data-test="voices-table"]').text()
    expect(table).toContain('GPT-SoVITS')
    expect(table).toContain('CosyVoice')
    expect(table).toContain('http://10.0.0.5:9880')
    expect(wrapper.find('[data-test="voice-create"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="voice-edit-3"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="voice-preview-3"]').exists()).toBe(false)
    expect(fake.calls.some((c) => c.path === '/api/voices/3/reference')).toBe(false) // fetched on "play" only
    await wrapper.get('[data-test="voice-clip-play-3"]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-test="voice-clip-audio-3"]').exists()).toBe(true)
  })
})

describe('a server voice\'s parameters', () => {
  it('are sent as a dict without empty rows; a missing name, a bad one and a repeat are problems of their row', () => {
    const rows = [paramRow('mode', 'sft'), paramRow('', ''), paramRow('', '中文女'), paramRow('Spk', 'x'), paramRow('mode', 'zero_shot')]
    expect(paramsPayload(rows)).toEqual({
      params: { mode: 'sft' },
      problems: { 'params.#2': 'key_required', 'params.#3': 'key_format', 'params.#4': 'duplicate' },
    })
  })

  it('place the API\'s messages under their row, and the rest under the editor', () => {
    const rows = [paramRow('mode', 'sft'), paramRow('prompt_text', '')]
    expect(placeParamErrors(rows, { 'params.prompt_text': 'too long', name: 'not mine' })).toEqual({ rows: ['', 'too long'], rest: [] })
    expect(placeParamErrors(rows, { params: 'cosyvoice mode sft takes no prompt_text (it takes spk_id)' }))
      .toEqual({ rows: ['', 'cosyvoice mode sft takes no prompt_text (it takes spk_id)'], rest: [] })
    expect(placeParamErrors(rows, { params: 'gptsovits voices take no server parameters', 'params.X.[key]': 'pattern' }))
      .toEqual({ rows: ['', ''], rest: ['gptsovits voices take no server parameters', 'pattern'] })
  })
})
