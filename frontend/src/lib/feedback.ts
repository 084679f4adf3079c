/**
 * Errors in words: every failure the dashboard meets is shown once, as a sentence in the UI's
 * language (a toast, or a message under the form field it is about), never as a blank page.
 * What the API gives a reason for is worded here (lib/reasons.ts); anything else keeps the
 * server's message.
 */
import { ElMessage, ElMessageBox } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import 'element-plus/es/components/message-box/style/css'
import { ApiError } from '@/api/http'
import { t } from '@/i18n'
import { fieldReasonText, reasonText } from './reasons'
import { bannedFieldErrors, bannedFields, bannedSummary, isBannedWords } from './bannedWords'

/** Keys of `fields` that are about the request as a whole, not a field of a form. */
const NOT_A_FIELD = new Set(['body', 'query'])

/** What the API said of `field` of a 422, in words. */
function fieldText(e: ApiError, field: string): string {
  return fieldReasonText(e.fieldReasons[field]) ?? e.fields[field] ?? ''
}

/** A failure as one sentence in the current language (the server's message when it gives no known reason). */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 0) return t('error.network')
    if (e.code === 'session_expired') return t('error.expired')
    if (isBannedWords(e)) return bannedSummary(bannedFields(e)) || e.message
    const worded = reasonText(e.reason, e.params)
    if (worded) return worded
    const [field] = Object.keys(e.fields)
    if (e.status === 422 && field) {
      const message = fieldText(e, field)
      return `${t('error.invalid')}: ${NOT_A_FIELD.has(field) ? message : t('error.field', { field, message })}`
    }
    const prefix: Record<number, string> = {
      403: t('error.forbidden'),
      404: t('error.notFound'),
      409: t('error.conflict'),
      413: t('error.tooLarge'),
      422: t('error.invalid'),
      429: t('error.tooMany'),
      503: t('error.unavailable'),
    }
    const head = prefix[e.status] ?? (e.status >= 500 ? t('error.server', { status: e.status }) : '')
    return head ? `${head}: ${e.message}` : e.message
  }
  if (e instanceof Error) return e.message || String(e)
  return String(e)
}

/** Show a failure as a toast (an expired sign-in is said on the login page instead). */
export function showError(e: unknown): void {
  if (e instanceof ApiError && e.code === 'session_expired') return
  if (e instanceof DOMException && e.name === 'AbortError') return
  ElMessage({ type: 'error', message: errorText(e), showClose: true, duration: 6000 })
}

export function showSuccess(message: string): void {
  ElMessage({ type: 'success', message, duration: 2500 })
}

/**
 * Messages for form fields from an API error, in words: 422's `fields` (dotted paths kept), or,
 * for a 409 conflict, the message under `conflictField`. Empty when the error is about no field.
 */
export function fieldErrors(e: unknown, conflictField?: string): Record<string, string> {
  if (!(e instanceof ApiError)) return {}
  if (isBannedWords(e)) return bannedFieldErrors(bannedFields(e))
  if (e.status === 422) {
    const out: Record<string, string> = {}
    for (const field of Object.keys(e.fields)) {
      if (!NOT_A_FIELD.has(field)) out[field] = fieldText(e, field)
    }
    return out
  }
  if (e.status === 409 && conflictField) return { [conflictField]: reasonText(e.reason, e.params) ?? e.message }
  return {}
}

/**
 * A failed save of a form: the messages for its fields, and a toast only when there is none (the
 * error is said once, where it is about).
 */
export function formError(e: unknown, conflictField?: string): Record<string, string> {
  const errors = fieldErrors(e, conflictField)
  if (!Object.keys(errors).length) showError(e)
  return errors
}

/** Ask before something that cannot be undone; resolves true when confirmed. */
export async function confirmDanger(message: string, title = t('common.confirm')): Promise<boolean> {
  try {
    await ElMessageBox.confirm(message, title, {
      type: 'warning',
      confirmButtonText: t('common.ok'),
      cancelButtonText: t('common.cancel'),
    })
    return true
  } catch {
    return false
  }
}
