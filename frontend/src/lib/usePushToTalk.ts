/**
 * The push-to-talk button's logic, without the button: press opens the microphone and the
 * transcription service, the live transcript shows while the operator holds, release ends the
 * audio and hands the final text (completed segments joined) to `send`.
 *
 * The microphone and the socket come in through `deps`, so tests drive it with fakes.
 */
import { computed, ref, type Ref } from 'vue'
import { t, type MessageKey } from '@/i18n'
import { openMicrophone, TranscriptError, TranscriptSocket, type SocketLike, type TranscriptErrorCode } from '@/lib/pushToTalk'

export type PttState = 'idle' | 'connecting' | 'listening' | 'finishing'

/** Why the last press came to nothing; `nothing-heard` is news, the rest are errors. */
export interface PttProblem {
  code: TranscriptErrorCode | 'nothing-heard'
  minutes: number
}

export interface PushToTalkDeps {
  /** ws:// URL of the transcription service; null while none is configured (the button is disabled) */
  url: Ref<string | null>
  /** posts the final text (as a comment); false when that failed (the caller has said why) */
  send: (text: string) => Promise<boolean>
  openMicrophone?: (onSamples: (s: Float32Array) => void) => Promise<() => void>
  createSocket?: (url: string) => SocketLike
  /** how long to wait for the last segments after the release */
  finishWaitMs?: number
}

export function usePushToTalk(deps: PushToTalkDeps) {
  const state = ref<PttState>('idle')
  const transcript = ref('') // live: completed segments and the one being heard
  const problem = ref<PttProblem | null>(null)
  const sent = ref<string | null>(null) // the last text sent
  const available = computed(() => !!deps.url.value)

  let socket: TranscriptSocket | null = null
  let stopMic: (() => void) | null = null
  let held = false // the button is down
  let press = 0 // which press the running start belongs to

  function teardown(): void {
    stopMic?.()
    stopMic = null
    socket?.close()
    socket = null
  }

  function fail(e: unknown): void {
    teardown()
    const code = e instanceof TranscriptError ? e.code : 'microphone'
    problem.value = { code, minutes: e instanceof TranscriptError ? e.minutes : 0 }
    state.value = 'idle'
  }

  /** The button went down: connect, then listen until `release`. */
  async function start(): Promise<void> {
    const url = deps.url.value
    if (!url || state.value !== 'idle') return
    const mine = ++press
    held = true
    problem.value = null
    sent.value = null
    transcript.value = ''
    state.value = 'connecting'
    const session = new TranscriptSocket({
      url, language: null, create: deps.createSocket,
      onText: (text) => { transcript.value = text },
      onError: (e) => { if (mine === press && state.value === 'listening') fail(e) },
    })
    socket = session
    const early: Float32Array[] = [] // heard while the service was still answering
    let ready = false
    try {
      const stop = await (deps.openMicrophone ?? openMicrophone)((s) => {
        if (ready) session.sendAudio(s)
        else early.push(s)
      })
      if (mine !== press) { stop(); return } // cancelled meanwhile
      stopMic = stop
      await session.open()
      if (mine !== press) return
    } catch (e) {
      if (mine === press) fail(e)
      return
    }
    ready = true
    for (const s of early) session.sendAudio(s)
    state.value = 'listening'
    if (!held) await release() // let go while connecting: what was said so far still counts
  }

  /** The button came up: end the audio, wait for the last words, send them. */
  async function release(): Promise<void> {
    held = false
    if (state.value !== 'listening' || !socket) return
    const session = socket
    state.value = 'finishing'
    stopMic?.()
    stopMic = null
    const text = await session.finish(deps.finishWaitMs)
    socket = null
    if (!text) {
      problem.value = { code: 'nothing-heard', minutes: 0 }
    } else if (await deps.send(text)) {
      sent.value = text
    }
    state.value = 'idle'
  }

  /** Drop everything (the page is closing): nothing is sent. */
  function cancel(): void {
    press++
    held = false
    teardown()
    state.value = 'idle'
  }

  return { state, transcript, problem, sent, available, start, release, cancel }
}

/** A problem in the operator's language. */
export function problemText(p: PttProblem): string {
  return t(`ptt.problem.${p.code}` as MessageKey, { n: p.minutes })
}
