/**
 * The dashboard's words in Chinese (default) and English: a small typed dictionary. `t(key)`
 * reads the current locale, so templates re-render when it changes; the choice is remembered in
 * localStorage.
 */
import { computed, ref } from 'vue'
import zhCN from './zh-CN'
import en from './en'

export type MessageKey = keyof typeof zhCN
export type Messages = Record<MessageKey, string>
export type Locale = 'zh-CN' | 'en'

export const LOCALES: { value: Locale; label: string }[] = [
  { value: 'zh-CN', label: '中文' },
  { value: 'en', label: 'English' },
]

const STORAGE_KEY = 'livehost.locale'
const messages: Record<Locale, Messages> = { 'zh-CN': zhCN, en }

function initialLocale(): Locale {
  try {
    const saved = localStorage.getItem(STORAGE_KEY)
    if (saved === 'zh-CN' || saved === 'en') return saved
  } catch {
    /* no storage: default */
  }
  return 'zh-CN'
}

export const locale = ref<Locale>(initialLocale())

export function setLocale(value: Locale): void {
  locale.value = value
  try {
    localStorage.setItem(STORAGE_KEY, value)
  } catch {
    /* not remembered */
  }
  if (typeof document !== 'undefined') document.documentElement.lang = value
}

/** The text for `key` in the current locale, with {name} placeholders filled from `params`. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const text = messages[locale.value][key] ?? messages['zh-CN'][key] ?? key
  if (!params) return text
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m))
}

/** Is `key` one of the dashboard's message keys (for keys made at run time, e.g. `reason.${name}`)? */
export function hasKey(key: string): key is MessageKey {
  return Object.prototype.hasOwnProperty.call(zhCN, key)
}

/** true when the current locale is Chinese */
export const isZh = computed(() => locale.value === 'zh-CN')
