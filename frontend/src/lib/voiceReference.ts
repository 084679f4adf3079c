/**
 * A cloned voice's reference clip (GPT-SoVITS and CosyVoice voices): what the API takes (3 to 10 s of
 * the voice alone, 20 MB at most, with what is said in it), sending it with upload progress, fetching
 * it with the sign-in (as a blob, the way the dashboard fetches all signed-in media), forgetting it.
 */
import { http, upload } from '@/api/http'
import type { Voice } from '@/api/types'
import type { MessageKey } from '@/i18n'

export const REFERENCE_ACCEPT = 'audio/*'
export const REFERENCE_LIMITS = { bytes: 20_000_000, text: 500 }

export const voiceReferenceApi = {
  /** sets (or replaces) the clip; 422 names `file` or `text`, 413 when the file is too large */
  put: (voiceId: number, file: File, text: string, onProgress?: (fraction: number) => void) => {
    const form = new FormData()
    form.append('file', file)
    form.append('text', text)
    return upload<Voice>(`/voices/${voiceId}/reference`, form, onProgress, 'PUT')
  },
  /** the clip as 16-bit mono WAV */
  get: (voiceId: number) => http.get<Blob>(`/voices/${voiceId}/reference`, undefined, { as: 'blob' }),
  remove: (voiceId: number) => http.del<Voice>(`/voices/${voiceId}/reference`),
}

/** Why a picked file cannot be sent (its type, when the browser knows it, or its size), as message and values. */
export function clipProblem(file: File): { key: MessageKey; params?: Record<string, string> } | null {
  if (file.type && !file.type.startsWith('audio/') && !file.type.startsWith('video/')) return { key: 'voices.referenceWrongType' }
  if (file.size > REFERENCE_LIMITS.bytes) {
    return { key: 'voices.referenceTooLarge', params: { mb: (file.size / 1e6).toFixed(1), max: String(REFERENCE_LIMITS.bytes / 1e6) } }
  }
  return null
}
