/**
 * How long a script takes to say, estimated before any TTS runs: about 0.22 s per CJK character
 * and 0.38 s per English word, plus the pauses. Action clips are not counted (their length is the
 * avatar's).
 */
import type { Segment } from '@/api/types'

export const SECONDS_PER_CJK_CHAR = 0.22
export const SECONDS_PER_WORD = 0.38

// Han ideographs, kana and hangul: each is read as one syllable-ish unit.
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]/g
// Words of other scripts (Latin letters, digits, apostrophes inside words).
const WORD = /[A-Za-z0-9\u00c0-\u024f]+(?:['’][A-Za-z]+)*/g

export interface TextEstimate {
  chars: number
  cjk: number
  words: number
  seconds: number
}

export function estimateText(text: string): TextEstimate {
  const trimmed = text.trim()
  const cjk = (trimmed.match(CJK) || []).length
  const words = (trimmed.replace(CJK, ' ').match(WORD) || []).length
  return { chars: trimmed.length, cjk, words, seconds: cjk * SECONDS_PER_CJK_CHAR + words * SECONDS_PER_WORD }
}

export interface ScriptEstimate {
  /** characters of text to say (as the server counts them: trimmed say texts) */
  chars: number
  /** seconds of speech, one pass */
  speechSeconds: number
  /** seconds of pauses, one pass */
  pauseSeconds: number
  /** speech + pauses, one pass */
  seconds: number
  says: number
  pauses: number
  actions: number
}

export function estimateSegments(segments: readonly Segment[]): ScriptEstimate {
  const out: ScriptEstimate = { chars: 0, speechSeconds: 0, pauseSeconds: 0, seconds: 0, says: 0, pauses: 0, actions: 0 }
  for (const seg of segments) {
    if ('say' in seg) {
      const e = estimateText(seg.say || '')
      out.chars += e.chars
      out.speechSeconds += e.seconds
      out.says++
    } else if ('pause' in seg) {
      const ms = Number(seg.pause)
      if (Number.isFinite(ms) && ms > 0) out.pauseSeconds += ms / 1000
      out.pauses++
    } else if ('action' in seg) {
      out.actions++
    }
  }
  out.seconds = out.speechSeconds + out.pauseSeconds
  return out
}

/** 75.4 -> "1:15", 3725 -> "1:02:05" */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  const mm = h ? String(m).padStart(2, '0') : String(m)
  return `${h ? h + ':' : ''}${mm}:${String(sec).padStart(2, '0')}`
}
