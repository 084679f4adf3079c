/**
 * What the banned-word check stopped during a live, in words: a live's "compliance" events and the
 * stored entries of a past live (GET /api/sessions/{id}/compliance) as one kind of row, newest first.
 */
import type { ComplianceEntry, CurrentProduct, LiveEvent } from '@/api/types'
import { hasKey, t } from '@/i18n'
import { dateTime } from './format'
import { clockTime } from './liveEvents'

export interface ComplianceRow {
  key: string
  /** epoch milliseconds (0 when unknown), to order and to match an event with its stored entry */
  atMs: number
  /** when, for a person: the clock time of an event, the date and time of a stored entry */
  time: string
  where: string
  words: string[]
  action: string
  /** what was not said */
  text: string
}

const str = (v: unknown) => (v === undefined || v === null ? '' : String(v))

function worded(prefix: 'compliance.where' | 'compliance.action', value: unknown): string {
  const key = `${prefix}.${str(value)}`
  return hasKey(key) ? t(key) : str(value)
}

const wordsOf = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v ? [String(v)] : [])

/** A live's "compliance" event as a row. */
export function complianceOfEvent(e: LiveEvent, key: string): ComplianceRow {
  const at = Number(e.at)
  return {
    key, atMs: Number.isFinite(at) && at > 0 ? at * 1000 : 0, time: clockTime(e.at), where: worded('compliance.where', e.where), words: wordsOf(e.words),
    action: worded('compliance.action', e.action), text: str(e.text),
  }
}

/** A stored entry of a past live as a row. */
export function complianceOfEntry(e: ComplianceEntry): ComplianceRow {
  const at = Date.parse(e.at)
  return {
    key: `entry-${e.id}`, atMs: Number.isFinite(at) ? at : 0, time: dateTime(e.at), where: worded('compliance.where', e.where), words: wordsOf(e.words),
    action: worded('compliance.action', e.action), text: str(e.text),
  }
}

/** The product of a live's "product" event, or null when it names none. */
export function productOfEvent(e: LiveEvent): CurrentProduct | null {
  const id = e.product ?? e.id
  if (id === undefined || id === null || id === '') return null
  return { id: id as number | string, name: str(e.name) }
}

/** how far apart an event and its stored entry may be (the worker stores it after the event) */
const SAME_MS = 5000

const sameCheck = (a: ComplianceRow, b: ComplianceRow) =>
  a.text === b.text && a.action === b.action && a.words.join('|') === b.words.join('|') && Math.abs(a.atMs - b.atMs) <= SAME_MS

/** The stored entries and the events heard since, each check once, newest first. */
export function mergeCompliance(stored: readonly ComplianceRow[], heard: readonly ComplianceRow[]): ComplianceRow[] {
  const out = [...stored]
  for (const row of heard) {
    if (!stored.some((s) => sameCheck(s, row))) out.push(row)
  }
  return out.sort((a, b) => b.atMs - a.atMs)
}
