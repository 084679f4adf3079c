import { describe, expect, it } from 'vitest'
import { Resampler, TranscriptError, TranscriptSocket } from '@/lib/pushToTalk'
import { FakeSocket } from './fakeSocket'

describe('Resampler', () => {
  it('turns 48 kHz chunks into the same signal at 16 kHz, across chunk boundaries', () => {
    const r = new Resampler(48_000)
    const tone = (i: number, rate: number) => Math.sin((2 * Math.PI * 440 * i) / rate)
    const out: number[] = []
    for (let start = 0; start < 48_000; start += 128) {
      const chunk = Float32Array.from({ length: 128 }, (_, k) => tone(start + k, 48_000))
      out.push(...r.push(chunk))
    }
    expect(Math.abs(out.length - 16_000)).toBeLessThanOrEqual(1)
    const worst = Math.max(...out.map((v, i) => Math.abs(v - tone(i, 16_000))))
    expect(worst).toBeLessThan(1e-4)
  })

  it('interpolates between samples for rates that do not divide (44.1 kHz)', () => {
    const r = new Resampler(44_100)
    const ramp = Float32Array.from({ length: 4410 }, (_, i) => i / 44_100)
    const out = r.push(ramp)
    expect(Math.abs(out.length - 1600)).toBeLessThanOrEqual(1)
    out.forEach((v, i) => expect(v).toBeCloseTo(i / 16_000, 5))
  })

  it('passes 16 kHz through unchanged', () => {
    const x = Float32Array.from([0.1, -0.2, 0.3])
    expect(Array.from(new Resampler(16_000).push(x))).toEqual(Array.from(x))
  })
})

function session(texts: string[] = [], errors: string[] = []) {
  FakeSocket.made = []
  const s = new TranscriptSocket({
    url: 'ws://127.0.0.1:9090', language: 'en', uid: 'u1', create: (u) => new FakeSocket(u),
    onText: (t) => texts.push(t), onError: (e) => errors.push(e.message),
  })
  return s
}

const seg = (start: string, text: string, completed: boolean) => ({ start, end: start, text, completed })

describe('TranscriptSocket', () => {
  it('sends the options first, audio as float32 frames, and resolves on SERVER_READY', async () => {
    const s = session()
    const opened = s.open()
    const ws = FakeSocket.made[0]
    ws.open()
    const options = JSON.parse(ws.sent[0] as string)
    expect(options).toMatchObject({ uid: 'u1', language: 'en', task: 'transcribe', model: 'tiny.en', use_vad: true, send_last_n_segments: 10 })
    ws.reply({ uid: 'u1', message: 'SERVER_READY', backend: 'faster_whisper' })
    await opened
    expect(ws.binaryType).toBe('arraybuffer')
    s.sendAudio(new Float32Array(2000).fill(0.5))
    expect(ws.sent).toHaveLength(2)
    expect(new Float32Array(ws.sent[1] as ArrayBuffer)).toHaveLength(1600)
  })

  it('shows the live transcript and, after END_OF_AUDIO, returns the completed segments joined', async () => {
    const texts: string[] = []
    const s = session(texts)
    const opened = s.open()
    const ws = FakeSocket.made[0]
    ws.open()
    ws.reply({ uid: 'u1', message: 'SERVER_READY' })
    await opened
    ws.reply({ uid: 'u1', segments: [seg('0.000', ' What is the', false)] })
    ws.reply({ uid: 'u1', segments: [seg('0.000', ' What is the price', true), seg('1.500', ' of the gre', false)] })
    expect(texts).toEqual(['What is the', 'What is the price of the gre'])
    s.sendAudio(new Float32Array(100))
    const done = s.finish(3000)
    expect(new Float32Array(ws.sent[1] as ArrayBuffer)).toHaveLength(100) // the rest goes before the end
    expect(new TextDecoder().decode(ws.sent[2] as Uint8Array)).toBe('END_OF_AUDIO')
    ws.reply({ uid: 'u1', segments: [seg('0.000', ' What is the price', true), seg('1.500', ' of the green tea?', true)] })
    expect(await done).toBe('What is the price of the green tea?')
    expect(ws.closed).toBe(true)
  })

  it('gives up waiting after the timeout and keeps what was being heard', async () => {
    const s = session()
    const opened = s.open()
    const ws = FakeSocket.made[0]
    ws.open()
    ws.reply({ uid: 'u1', message: 'SERVER_READY' })
    await opened
    ws.reply({ uid: 'u1', segments: [seg('0.000', 'hello there', false)] })
    expect(await s.finish(20)).toBe('hello there')
  })

  it('says WAIT and ERROR in words', async () => {
    let s = session()
    let opened = s.open()
    FakeSocket.made[0].open()
    FakeSocket.made[0].reply({ uid: 'u1', status: 'WAIT', message: 2.5 })
    await expect(opened).rejects.toThrow(/busy; try again in 3 min/)
    expect(FakeSocket.made[0].closed).toBe(true)

    s = session()
    opened = s.open()
    FakeSocket.made[0].open()
    FakeSocket.made[0].reply({ uid: 'u1', status: 'ERROR', message: 'invalid or missing API key' })
    await expect(opened).rejects.toBeInstanceOf(TranscriptError)
  })

  it('says when the service cannot be reached', async () => {
    const s = session()
    const opened = s.open()
    FakeSocket.made[0].onerror?.(new Event('error'))
    await expect(opened).rejects.toThrow('cannot reach the transcription service')
  })
})
