/**
 * The live chat in words: which platform a viewer is on (a coloured badge), what they did (a
 * comment, a gift x3, a guard for 2 months), what it was worth, and what the host did about it
 * (waiting, answered, skipped because ..., dropped because ...). Pure functions of a row and the
 * current locale; viewer text is returned as plain text for the template to escape.
 */
import { hasKey, locale, t, type Locale, type MessageKey } from '@/i18n'
import type { ChatRow } from './chatFeed'

export interface PlatformBadge {
  name: string
  /** background colour of the badge */
  color: string
}

const BADGES: Record<string, { name: Record<Locale, string>; color: string }> = {
  bilibili: { name: { 'zh-CN': 'B站', en: 'Bilibili' }, color: '#fb7299' },
  youtube: { name: { 'zh-CN': 'YouTube', en: 'YouTube' }, color: '#e62117' },
  douyin: { name: { 'zh-CN': '抖音', en: 'Douyin' }, color: '#161823' },
  kuaishou: { name: { 'zh-CN': '快手', en: 'Kuaishou' }, color: '#ff5000' },
  twitch: { name: { 'zh-CN': 'Twitch', en: 'Twitch' }, color: '#9146ff' },
  tiktok: { name: { 'zh-CN': 'TikTok', en: 'TikTok' }, color: '#010101' },
  relay: { name: { 'zh-CN': '转发', en: 'Relay' }, color: '#64748b' },
  console: { name: { 'zh-CN': '控制台', en: 'Console' }, color: '#0ea5e9' },
}

/** The badge of a platform; one the dashboard does not know shows its own name, in grey. */
export function platformBadge(platform: string): PlatformBadge {
  const known = BADGES[platform.toLowerCase()]
  if (known) return { name: known.name[locale.value], color: known.color }
  return { name: platform || '?', color: '#94a3b8' }
}

/** Worth a highlight: a paid message, a guard, or a gift worth something. */
export function isPaid(row: ChatRow): boolean {
  return row.kind === 'superchat' || row.kind === 'guard' || (row.kind === 'gift' && row.value > 0)
}

/** "¥30.00", "$5.00", "100 coins"; '' when it was free or its worth is unknown. */
export function valueText(value: number, currency: string): string {
  if (!(value > 0)) return ''
  const code = currency.trim().toUpperCase()
  if (/^[A-Z]{3}$/.test(code)) {
    try {
      return new Intl.NumberFormat(locale.value, { style: 'currency', currency: code }).format(value)
    } catch {
      /* a code Intl does not know */
    }
  }
  const n = Number.isInteger(value) ? String(value) : value.toFixed(2)
  return currency ? `${n} ${currency}` : n
}

/** What the viewer did, in words: their comment, or "sent Rocket x3", "followed", ... */
export function rowText(row: ChatRow): string {
  const gift = row.gift || t('chat.aGift')
  switch (row.kind) {
    case 'gift':
      return t('chat.gift', { gift, count: Math.max(row.count, 1) })
    case 'guard':
      return row.count > 0 ? t('chat.guardMonths', { gift, count: row.count }) : t('chat.guard', { gift })
    case 'follow':
      return t('chat.follow')
    case 'like':
      return t('chat.like', { count: Math.max(row.count, 1) })
    case 'enter':
      return t('chat.enter')
    default:
      return row.text
  }
}

/** Why the host skipped or dropped a message, in words (an unknown reason as the API named it). */
export function reasonWords(reason: string | null | undefined): string {
  if (!reason) return ''
  const key = `chat.reason.${reason}`
  return hasKey(key) ? t(key) : reason
}

/** What the host did with the message, in words. */
export function actionText(row: ChatRow): string {
  const why = reasonWords(row.reason)
  switch (row.action) {
    case 'skipped':
      return why ? t('chat.action.skippedBecause', { reason: why }) : t('chat.action.skipped')
    case 'dropped':
      return why ? t('chat.action.droppedBecause', { reason: why }) : t('chat.action.dropped')
    default: {
      const key = `chat.action.${row.action}`
      return hasKey(key) ? t(key as MessageKey) : row.action
    }
  }
}

/** How blocking names the viewer: "platform:user_id", or the name when the platform gave no id. */
export function blockKey(row: ChatRow): string {
  return row.userId ? `${row.platform}:${row.userId}` : row.user
}
