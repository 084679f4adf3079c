import { describe, expect, it } from 'vitest'
import { ref } from 'vue'
import { mount } from '@vue/test-utils'
import PushToTalk from '@/components/PushToTalk.vue'
import { TranscriptError } from '@/lib/pushToTalk'
import { problemText, usePushToTalk } from '@/lib/usePushToTalk'
import { setLocale } from '@/i18n'
import { FakeSocket } from './fakeSocket'
import { installFakeFetch } from './fakeFetch'

const URL = 'ws://127.0.0.1:9090'
const tick = () => new Promise((r) => setTimeout(r, 0))
const seg = (start: string, text: string, completed: boolean) => ({ start, end: start, text, completed })

/** A microphone stand-in: the test speaks through `feed`. */
class FakeMic {
  feed: ((s: Float32Array) => void) | null = null
  stopped = false
  error: Error | null = null
  open = async (onSamples: (s: Float32Array) => void) => {
    if (this.error) throw this.error
    this.feed = onSamples
    return () => { this.stopped = true }
  }
}

function setup(opts: { url?: string | null; sendOk?: boolean } = {}) {
  FakeSocket.made = []
  const mic = new FakeMic()
  const sent: string[] = []
  const ptt = usePushToTalk({
    url: ref(opts.url === undefined ? URL : opts.url),
    send: async (text) => { sent.push(text); return opts.sendOk ?? true },
    openMicrophone: mic.open,
    createSocket: (u) => new FakeSocket(u),
    finishWaitMs: 50,
  })
  return { ptt, mic, sent, ws: () => FakeSocket.made[0] }
}

/** Press, and let the fake service answer SERVER_READY. */
async function pressAndConnect(s: ReturnType<typeof setup>) {
  const started = s.ptt.start()
  await tick()
  s.ws().open()
  s.ws().reply({ uid: 'x', message: 'SERVER_READY' })
  await started
}

const frames = (ws: FakeSocket) => ws.sent.filter((m) => m instanceof ArrayBuffer) as ArrayBuffer[]

describe('usePushToTalk', () => {
  it('goes connecting, listening (live transcript), finishing, and sends the completed segments joined', async () => {
    const s = setup()
    const started = s.ptt.start()
    expect(s.ptt.state.value).toBe('connecting')
    await tick()
    s.mic.feed!(new Float32Array(1600).fill(0.1)) // spoken before the service answered: kept
    s.ws().open()
    s.ws().reply({ uid: 'x', message: 'SERVER_READY' })
    await started
    expect(s.ptt.state.value).toBe('listening')
    expect(frames(s.ws())).toHaveLength(1)
    s.mic.feed!(new Float32Array(1600).fill(0.2))
    expect(frames(s.ws())).toHaveLength(2)
    s.ws().reply({ uid: 'x', segments: [seg('0.000', ' How much is', false)] })
    expect(s.ptt.transcript.value).toBe('How much is')

    const released = s.ptt.release()
    expect(s.ptt.state.value).toBe('finishing')
    expect(s.mic.stopped).toBe(true)
    expect(new TextDecoder().decode(s.ws().sent.at(-1) as Uint8Array)).toBe('END_OF_AUDIO')
    s.ws().reply({ uid: 'x', segments: [seg('0.000', ' How much is', true), seg('1.200', ' the green tea?', true)] })
    await released
    expect(s.sent).toEqual(['How much is the green tea?'])
    expect(s.ptt.sent.value).toBe('How much is the green tea?')
    expect(s.ptt.state.value).toBe('idle')
    expect(s.ptt.problem.value).toBeNull()
    expect(s.ws().closed).toBe(true)
  })

  it('sends nothing for an empty transcript, and says so', async () => {
    const s = setup()
    await pressAndConnect(s)
    await s.ptt.release()
    expect(s.sent).toEqual([])
    expect(s.ptt.problem.value?.code).toBe('nothing-heard')
    expect(s.ptt.state.value).toBe('idle')
  })

  it('finishes as soon as it is connected when the button was let go while connecting', async () => {
    const s = setup()
    const started = s.ptt.start()
    await tick()
    void s.ptt.release()
    expect(s.ptt.state.value).toBe('connecting')
    s.ws().open()
    s.ws().reply({ uid: 'x', message: 'SERVER_READY' })
    await tick()
    expect(s.ptt.state.value).toBe('finishing')
    s.ws().reply({ uid: 'x', segments: [seg('0.000', 'hello', true)] })
    await started
    expect(s.sent).toEqual(['hello'])
  })

  it('says the service is busy, with the minutes to wait, and lets the microphone go', async () => {
    const s = setup()
    const started = s.ptt.start()
    await tick()
    s.ws().open()
    s.ws().reply({ uid: 'x', status: 'WAIT', message: 4.2 })
    await started
    expect(s.ptt.state.value).toBe('idle')
    expect(s.ptt.problem.value).toEqual({ code: 'busy', minutes: 5 })
    expect(s.mic.stopped).toBe(true)
    setLocale('en')
    expect(problemText(s.ptt.problem.value!)).toBe('The transcription service is busy; try again in 5 min.')
    setLocale('zh-CN')
    expect(problemText(s.ptt.problem.value!)).toBe('语音识别服务正忙，请 5 分钟后再试。')
  })

  it('says when the service cannot be reached or goes away while listening', async () => {
    let s = setup()
    const started = s.ptt.start()
    await tick()
    s.ws().onerror?.(new Event('error'))
    await started
    expect(s.ptt.problem.value?.code).toBe('unreachable')
    expect(s.mic.stopped).toBe(true)

    s = setup()
    await pressAndConnect(s)
    s.ws().drop()
    expect(s.ptt.state.value).toBe('idle')
    expect(s.ptt.problem.value?.code).toBe('closed')
    expect(s.mic.stopped).toBe(true)
    await s.ptt.release()
    expect(s.sent).toEqual([])
  })

  it('says when the microphone is refused, without calling the service', async () => {
    const s = setup()
    s.mic.error = new TranscriptError('microphone permission denied', 'denied')
    await s.ptt.start()
    expect(s.ptt.problem.value?.code).toBe('denied')
    expect(s.ptt.state.value).toBe('idle')
    expect(FakeSocket.made).toHaveLength(0)
    setLocale('en')
    expect(problemText(s.ptt.problem.value!)).toMatch(/^Microphone permission denied/)
  })

  it('does nothing without a configured service', async () => {
    const s = setup({ url: null })
    expect(s.ptt.available.value).toBe(false)
    await s.ptt.start()
    expect(s.ptt.state.value).toBe('idle')
    expect(FakeSocket.made).toHaveLength(0)
  })

  it('sends nothing when the page closes while listening', async () => {
    const s = setup()
    await pressAndConnect(s)
    s.ws().reply({ uid: 'x', segments: [seg('0.000', 'half a sentence', true)] })
    s.ptt.cancel()
    await s.ptt.release()
    expect(s.sent).toEqual([])
    expect(s.mic.stopped).toBe(true)
    expect(s.ws().closed).toBe(true)
  })
})

describe('PushToTalk button', () => {
  it('is disabled, saying why, while no transcription service is configured', async () => {
    installFakeFetch({ 'GET /api/transcriber': () => ({ body: { url: null } }) })
    setLocale('en')
    const w = mount(PushToTalk, { props: { send: async () => true }, attachTo: document.body })
    await tick()
    const button = w.get('[data-test="ptt-button"]')
    expect(button.attributes('disabled')).toBeDefined()
    expect(button.attributes('aria-label')).toContain('No transcription service configured')
    w.unmount()
  })

  it('is enabled when the API names the service', async () => {
    installFakeFetch({ 'GET /api/transcriber': () => ({ body: { url: URL } }) })
    const w = mount(PushToTalk, { props: { send: async () => true }, attachTo: document.body })
    await tick()
    await tick()
    const button = w.get('[data-test="ptt-button"]')
    expect(button.attributes('disabled')).toBeUndefined()
    expect(button.attributes('data-state')).toBe('idle')
    w.unmount()
  })
})
