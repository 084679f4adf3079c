/**
 * Push-to-talk: the microphone as 16 kHz mono float32, streamed to the transcription service
 * (`livehost transcriber serve`, WhisperLive's WebSocket protocol), and the text it heard.
 *
 * `Resampler` and `TranscriptSocket` are pure (tested with a fake WebSocket); `openMicrophone` is the
 * browser edge (getUserMedia, an AudioWorklet or a ScriptProcessor fallback).
 */
import workletUrl from './pttWorklet.js?url&no-inline' // a file of its own: the CSP blocks data: scripts

export const TARGET_RATE = 16_000
export const END_OF_AUDIO = 'END_OF_AUDIO'
const CHUNK = 1600 // samples per frame sent: 100 ms at 16 kHz

/** Streaming linear-interpolation resampler: chunks in at `fromRate`, chunks out at 16 kHz. */
export class Resampler {
  private readonly step: number
  private prev: number | null = null
  private pos = 1 // position of the next output sample in [prev, ...chunk] coordinates

  constructor(readonly fromRate: number, readonly toRate = TARGET_RATE) {
    if (!(fromRate > 0 && toRate > 0)) throw new Error(`bad sample rates ${fromRate} -> ${toRate}`)
    this.step = fromRate / toRate
  }

  push(chunk: Float32Array): Float32Array {
    if (!chunk.length) return new Float32Array(0)
    if (this.step === 1) return chunk.slice()
    const prev = this.prev ?? chunk[0]
    const at = (i: number) => (i === 0 ? prev : chunk[i - 1])
    const last = chunk.length // index of the last sample in combined coordinates
    const out: number[] = []
    let pos = this.pos
    while (pos <= last) {
      const i = Math.floor(pos)
      const f = pos - i
      out.push(i < last ? at(i) * (1 - f) + at(i + 1) * f : at(i))
      pos += this.step
    }
    this.pos = pos - last
    this.prev = chunk[chunk.length - 1]
    return Float32Array.from(out)
  }
}

export interface Segment { start: string; end: string; text: string; completed: boolean }

/** The minimum of a WebSocket this module uses (a fake one in tests). */
export interface SocketLike {
  binaryType: string
  readyState: number
  send(data: string | ArrayBufferLike | ArrayBufferView): void
  close(): void
  onopen: ((e: Event) => void) | null
  onmessage: ((e: MessageEvent) => void) | null
  onerror: ((e: Event) => void) | null
  onclose: ((e: CloseEvent) => void) | null
}

export interface TranscriptSocketOptions {
  url: string
  language: string | null
  /** live transcript so far: completed segments and the one being heard */
  onText?: (text: string) => void
  /** something went wrong after the start */
  onError?: (error: TranscriptError) => void
  create?: (url: string) => SocketLike
  uid?: string
}

/** What went wrong, for the console to say in the operator's language. */
export type TranscriptErrorCode =
  | 'unreachable' | 'timeout' | 'closed' | 'busy' | 'server' // the service
  | 'insecure' | 'denied' | 'no-microphone' | 'microphone' // the microphone

export class TranscriptError extends Error {
  constructor(message: string, readonly code: TranscriptErrorCode, readonly minutes = 0) {
    super(message)
  }
}

/** One push-to-talk utterance over WhisperLive's protocol. */
export class TranscriptSocket {
  private ws: SocketLike | null = null
  private readonly completed = new Map<string, string>() // start -> text, in arrival order
  private partial = ''
  private pending: number[] = []
  private ended = false
  private settle: (() => void) | null = null
  readonly uid: string

  constructor(private readonly opts: TranscriptSocketOptions) {
    this.uid = opts.uid ?? `ptt-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
  }

  /** Connect and send the options; resolves on SERVER_READY, rejects with a reason in words. */
  open(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      let ready = false
      const fail = (message: string, code: TranscriptErrorCode, minutes = 0) => {
        const error = new TranscriptError(message, code, minutes)
        if (!ready) { ready = true; this.close(); reject(error) } else this.opts.onError?.(error)
      }
      let ws: SocketLike
      try {
        ws = (this.opts.create ?? ((u) => new WebSocket(u) as unknown as SocketLike))(this.opts.url)
      } catch (e) {
        reject(new TranscriptError(`cannot reach the transcription service: ${(e as Error).message}`, 'unreachable'))
        return
      }
      this.ws = ws
      ws.binaryType = 'arraybuffer'
      const timer = setTimeout(() => fail('the transcription service did not answer in time', 'timeout'), timeoutMs)
      ws.onopen = () => {
        ws.send(JSON.stringify({
          uid: this.uid, language: this.opts.language, task: 'transcribe', model: 'tiny.en',
          use_vad: true, send_last_n_segments: 10,
        }))
      }
      ws.onerror = () => { clearTimeout(timer); fail('cannot reach the transcription service', 'unreachable') }
      ws.onclose = () => {
        clearTimeout(timer)
        if (!ready || !this.ended) fail('the transcription service closed the connection', 'closed')
        this.settle?.()
      }
      ws.onmessage = (e) => {
        let msg: Record<string, unknown>
        try { msg = JSON.parse(String(e.data)) } catch { return }
        if (msg.status === 'WAIT') {
          clearTimeout(timer)
          const minutes = Math.max(1, Math.ceil(Number(msg.message) || 1))
          fail(`the transcription service is busy; try again in ${minutes} min`, 'busy', minutes)
        } else if (msg.status === 'ERROR') {
          clearTimeout(timer)
          fail(`transcription error: ${String(msg.message ?? 'unknown')}`, 'server')
        } else if (msg.message === 'SERVER_READY') {
          clearTimeout(timer)
          ready = true
          resolve()
        } else if (msg.message === 'DISCONNECT') {
          this.settle?.()
        } else if (Array.isArray(msg.segments)) {
          this.onSegments(msg.segments as Segment[])
        }
      }
    })
  }

  private onSegments(segments: Segment[]): void {
    this.partial = ''
    for (const s of segments) {
      if (s.completed) this.completed.set(s.start, s.text.trim())
      else this.partial = s.text.trim()
    }
    this.opts.onText?.(this.text(true))
    if (this.ended && !segments.some((s) => !s.completed)) this.settle?.()
  }

  /** Completed segments joined (and the one being heard, with `partial`). */
  text(partial = false): string {
    const parts = [...this.completed.values()]
    if (partial && this.partial) parts.push(this.partial)
    return parts.filter(Boolean).join(' ').replace(/\s+/g, ' ').trim()
  }

  /** 16 kHz mono samples; sent in 100 ms frames. */
  sendAudio(samples: Float32Array): void {
    if (this.ended || !this.ws || this.ws.readyState !== 1) return
    for (const v of samples) this.pending.push(v)
    while (this.pending.length >= CHUNK) this.flush(CHUNK)
  }

  private flush(n: number): void {
    const frame = Float32Array.from(this.pending.splice(0, n))
    if (frame.length && this.ws && this.ws.readyState === 1) this.ws.send(frame.buffer)
  }

  /** END_OF_AUDIO, then the final text: once every segment is completed, or after `waitMs`
   * (then what was being heard counts too). Closes the socket. */
  async finish(waitMs = 3000): Promise<string> {
    if (!this.ws || this.ended) return this.text()
    this.flush(this.pending.length)
    this.ended = true
    let timedOut = false
    if (this.ws.readyState === 1) {
      this.ws.send(new TextEncoder().encode(END_OF_AUDIO))
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { timedOut = true; resolve() }, waitMs)
        this.settle = () => { clearTimeout(timer); resolve() }
      })
    }
    const text = this.text(timedOut)
    this.close()
    return text
  }

  close(): void {
    const ws = this.ws
    this.ws = null
    this.settle = null
    if (!ws) return
    ws.onclose = ws.onmessage = ws.onerror = null
    try { ws.close() } catch { /* already closed */ }
  }
}

/** The microphone, mono, as 16 kHz chunks to `onSamples`; returns the stop function.
 * Call it from the user's gesture (the audio context must be resumed there). Throws TranscriptError
 * with the reason (not a secure page, no permission, no microphone). */
export async function openMicrophone(onSamples: (s: Float32Array) => void): Promise<() => void> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new TranscriptError('this browser cannot use the microphone here (it needs https or localhost)', 'insecure')
  }
  const ctx = new AudioContext()
  const resumed = ctx.resume().catch(() => undefined) // still inside the gesture: allowed to start
  let media: MediaStream
  try {
    // The voice as spoken: the browser's gain control and noise suppression change it as they adapt (the
    // first seconds louder than the next, words smeared), which Whisper hears worse than the noise
    // they remove. Echo cancellation stays: it keeps the preview's sound out of the question.
    media = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: false },
    })
  } catch (e) {
    void ctx.close().catch(() => undefined)
    const name = (e as DOMException).name
    if (name === 'NotAllowedError' || name === 'SecurityError') throw new TranscriptError('microphone permission denied', 'denied')
    if (name === 'NotFoundError') throw new TranscriptError('no microphone found', 'no-microphone')
    throw new TranscriptError(`cannot open the microphone: ${(e as Error).message}`, 'microphone')
  }
  const resampler = new Resampler(ctx.sampleRate)
  const source = ctx.createMediaStreamSource(media)
  const sink = ctx.createGain()
  sink.gain.value = 0
  sink.connect(ctx.destination)
  let node: AudioNode
  try {
    await ctx.audioWorklet.addModule(workletUrl) // a file of the dashboard: the CSP allows 'self' only
    const w = new AudioWorkletNode(ctx, 'livehost-ptt', { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit' })
    w.port.onmessage = (e) => onSamples(resampler.push(e.data as Float32Array))
    node = w
  } catch (e) {
    console.warn('push-to-talk: no AudioWorklet here, using a ScriptProcessor:', e)
    const p = ctx.createScriptProcessor(4096, 1, 1)
    p.onaudioprocess = (e) => onSamples(resampler.push(e.inputBuffer.getChannelData(0)))
    node = p
  }
  source.connect(node)
  node.connect(sink)
  await resumed
  return () => {
    try { source.disconnect(); node.disconnect() } catch { /* gone */ }
    media.getTracks().forEach((t) => t.stop())
    void ctx.close().catch(() => undefined)
  }
}
