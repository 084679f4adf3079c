/**
 * A live's events in words, for the console's event log: what happened, when, and how loud to
 * show it. Pure functions of the event and the current locale.
 */
import type { LiveEvent } from '@/api/types'
import { t, type MessageKey } from '@/i18n'

/** An event as the console keeps it: a unique key (the stream id when known) and the event. */
export interface LoggedEvent {
  key: string
  event: LiveEvent
}

export type EventLevel = 'info' | 'success' | 'warning' | 'danger'

export interface FormattedEvent {
  type: string
  time: string
  text: string
  level: EventLevel
}

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v))

/** "14:03:07" in local time from epoch seconds; '' when unknown */
export function clockTime(at: unknown): string {
  const n = Number(at)
  if (!Number.isFinite(n) || n <= 0) return ''
  const d = new Date(n * 1000)
  const p = (x: number) => String(x).padStart(2, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

function word(prefix: string, value: unknown): string {
  const key = `${prefix}.${str(value)}` as MessageKey
  const out = t(key)
  return out === key ? str(value) : out
}

export function sourceWord(source: unknown): string {
  return word('source', source)
}

export function stateWord(state: unknown): string {
  return word('status', state)
}

function quote(text: unknown): string {
  const s = str(text).trim()
  return s ? `“${s.length > 200 ? s.slice(0, 200) + '…' : s}”` : ''
}

function position(resume: unknown): string {
  if (!resume || typeof resume !== 'object') return ''
  const r = resume as Record<string, unknown>
  const parts: string[] = []
  if (r.segment !== undefined) parts.push(t('event.segment', { n: Number(r.segment) + 1 }))
  if (r.sentence !== undefined) parts.push(t('event.sentence', { n: Number(r.sentence) + 1 }))
  return parts.join(' ')
}

/** One event in words. */
export function describeEvent(e: LiveEvent): { text: string; level: EventLevel } {
  switch (e.type) {
    case 'state': {
      const level: EventLevel = e.state === 'failed' ? 'danger' : e.state === 'live' ? 'success' : 'info'
      return { text: t('event.state', { state: stateWord(e.state) }), level }
    }
    case 'utterance': {
      const src = sourceWord(e.source)
      if (e.state === 'start') return { text: t('event.utteranceStart', { source: src, text: quote(e.text) }), level: 'info' }
      if (e.cut) return { text: t('event.utteranceCut', { source: src, text: quote(e.text) }), level: 'warning' }
      return { text: t('event.utteranceEnd', { source: src, text: quote(e.text) }), level: 'info' }
    }
    case 'reply': {
      const who = e.comment_id != null ? t('event.toComment', { id: str(e.comment_id) }) : ''
      const key: MessageKey = e.cut ? 'event.replyCut' : 'event.reply'
      return { text: t(key, { to: who, source: sourceWord(e.source), text: quote(e.text) }), level: 'success' }
    }
    case 'interrupt': {
      const where = position(e.resume)
      return { text: where ? t('event.interruptResume', { where }) : t('event.interrupt'), level: 'warning' }
    }
    case 'cut':
      return { text: t('event.cut', { frame: str(e.frame), ms: str(e.latency_ms) }), level: 'warning' }
    case 'encoder': {
      const key: MessageKey = e.change === 'back' ? 'event.encoderBack' : 'event.encoderFaster'
      return { text: t(key, { preset: str(e.preset), behind: str(e.behind_s) }), level: e.change === 'back' ? 'info' : 'warning' }
    }
    case 'overloaded':
      return { text: t('event.overloaded', { preset: str(e.preset), behind: str(e.behind_s) }), level: 'danger' }
    case 'caught_up':
      return { text: t('event.caughtUp', { preset: str(e.preset) }), level: 'success' }
    case 'action':
      return {
        text: t(e.state === 'end' ? 'event.actionEnd' : 'event.actionStart', { name: str(e.name) }),
        level: 'info',
      }
    case 'paused':
      return { text: t(e.paused ? 'event.paused' : 'event.resumed'), level: 'info' }
    case 'error':
      return { text: t('event.error', { source: str(e.source) || '?', message: str(e.message) }), level: 'danger' }
    case 'output': {
      if (e.state === 'connected') return { text: t('event.outputConnected', { url: str(e.url) }), level: 'success' }
      if (e.state === 'disconnected') {
        return { text: t('event.outputDisconnected', { url: str(e.url), reason: str(e.reason) }), level: 'danger' }
      }
      return { text: t('event.output', { detail: details(e) }), level: 'info' }
    }
    case 'product':
      return { text: t('event.product', { name: str(e.name) || `#${str(e.product)}` }), level: 'info' }
    case 'compliance': {
      const words = Array.isArray(e.words) ? e.words.map(String).join(t('common.listSep')) : str(e.words)
      return { text: t('event.compliance', { words, where: word('compliance.where', e.where), action: word('compliance.action', e.action) }), level: 'warning' }
    }
    default:
      return { text: `${e.type}: ${details(e)}`, level: 'info' }
  }
}

function details(e: LiveEvent): string {
  const rest = Object.entries(e).filter(([k]) => k !== 'type' && k !== 'at')
  return rest.map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : str(v)}`).join(' ')
}

export function formatEvent(e: LiveEvent): FormattedEvent {
  const { text, level } = describeEvent(e)
  return { type: e.type, time: clockTime(e.at), text, level }
}
