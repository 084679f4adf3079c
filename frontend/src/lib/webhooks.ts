/**
 * A webhook's form as the user fills it, what it sends (POST for a new one, PATCH with only what
 * changed for a saved one), and a test alert's result in the user's words. The URL and the signing
 * secret are write-only: the form starts them empty, and empty keeps the saved ones.
 */
import {
  WEBHOOK_EVENTS, type Webhook, type WebhookEvent, type WebhookFormat, type WebhookIn, type WebhookPatch,
  type WebhookTestResult,
} from '@/api/types'
import type { SecretDraft } from '@/lib/sourcesDraft'
import { secretValue } from '@/lib/sourcesDraft'
import { t, type MessageKey } from '@/i18n'

/** the receivers that sign their webhooks with a secret */
export const SIGNED_FORMATS: readonly WebhookFormat[] = ['dingtalk', 'feishu']

export interface WebhookDraft {
  name: string
  format: WebhookFormat
  /** as typed; empty keeps a saved one */
  url: string
  secret: SecretDraft
  events: WebhookEvent[]
  enabled: boolean
}

/** The form of `saved`, or of a new webhook (every event, enabled). */
export function webhookDraft(saved?: Webhook | null): WebhookDraft {
  return {
    name: saved?.name ?? '',
    format: (saved?.format as WebhookFormat | undefined) ?? 'generic',
    url: '',
    secret: { value: '', clear: false },
    events: saved ? WEBHOOK_EVENTS.filter((e) => saved.events.includes(e)) : [...WEBHOOK_EVENTS],
    enabled: saved?.enabled ?? true,
  }
}

export const signed = (format: WebhookFormat | string): boolean => SIGNED_FORMATS.includes(format as WebhookFormat)

/** The form's mistakes by field (empty: it may be sent); a new webhook needs its URL. */
export function webhookErrors(d: WebhookDraft, isNew: boolean): Record<string, string> {
  const errs: Record<string, string> = {}
  if (!d.name.trim()) errs.name = t('alerts.nameRequired')
  const url = d.url.trim()
  if (!url && isNew) errs.url = t('alerts.urlRequired')
  else if (url && !/^https?:\/\/[^\s/]+/i.test(url)) errs.url = t('alerts.urlInvalid')
  if (!d.events.length) errs.events = t('alerts.eventsRequired')
  return errs
}

/** POST /api/webhooks: the whole form (a secret only for a receiver that signs). */
export function webhookCreateBody(d: WebhookDraft): WebhookIn {
  const body: WebhookIn = { name: d.name.trim(), format: d.format, url: d.url.trim(), events: [...d.events], enabled: d.enabled }
  const secret = d.secret.value.trim()
  if (signed(d.format) && secret) body.secret = secret
  return body
}

/** PATCH /api/webhooks/{id}: the fields, and the URL and secret only when typed (or the secret cleared). */
export function webhookPatchBody(d: WebhookDraft): WebhookPatch {
  const body: WebhookPatch = { name: d.name.trim(), format: d.format, events: [...d.events], enabled: d.enabled }
  const url = d.url.trim()
  if (url) body.url = url
  const secret = signed(d.format) ? secretValue(d.secret) : undefined
  if (secret !== undefined) body.secret = secret
  return body
}

/** Why the receiver did not take it, in words: the API says "HTTP 403", "error 93000: …" or an
 * HTTP client's error name ("ConnectTimeout"). */
export function deliveryError(error: string): string {
  const http = /^HTTP (\d{3})$/.exec(error)
  if (http) return t('alerts.errorHttp', { status: http[1] })
  const coded = /^error ([^\s:]+):?\s*(.*)$/.exec(error)
  if (coded) return t('alerts.errorCode', { code: coded[1], message: coded[2] || '—' })
  let key: MessageKey | null = null
  if (/Timeout/i.test(error)) key = 'alerts.errorTimeout'
  else if (/Connect|Network|Proxy/i.test(error)) key = 'alerts.errorUnreachable'
  return key ? `${t(key)} (${error})` : error
}

/** A test alert's result in one line. */
export function testResultText(r: WebhookTestResult): string {
  return r.ok ? t('alerts.testOk') : t('alerts.testFailed', { error: deliveryError(r.error ?? '') })
}
