/** The last resort for errors nobody caught: logged, and shown in words. */
import { shallowRef } from 'vue'
import { ApiError } from '@/api/http'
import { errorText, showError } from './feedback'

/** The unexpected error the error boundary shows (null when none). */
export const lastUnexpected = shallowRef<{ message: string; at: number } | null>(null)

export function reportUnexpected(err: unknown): void {
  if (err instanceof DOMException && err.name === 'AbortError') return
  if (!(err instanceof ApiError)) console.error(err)
  showError(err)
  if (!(err instanceof ApiError)) lastUnexpected.value = { message: errorText(err), at: Date.now() }
}
