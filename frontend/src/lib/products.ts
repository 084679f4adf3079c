/**
 * A product in the product form: editable rows for its selling points and FAQ (a stable key each),
 * the form's own checks with the API's limits, what it sends, and a price in words.
 */
import type { Product, ProductIn } from '@/api/types'
import { locale, t } from '@/i18n'

/** The API's limits (ProductIn). */
export const PRODUCT_LIMITS = {
  name: 100,
  currency: 3,
  sellingPoints: 20,
  sellingPoint: 200,
  faq: 50,
  question: 200,
  answer: 500,
  link: 40,
  stock: 200,
} as const

export const CURRENCIES = ['CNY', 'USD', 'EUR', 'HKD', 'TWD', 'JPY', 'GBP'] as const

export interface PointRow { key: number; text: string }
export interface FaqRow { key: number; q: string; a: string }

export interface ProductDraft {
  name: string
  price: number | null
  currency: string
  points: PointRow[]
  faq: FaqRow[]
  link: string
  stock: string
}

let nextKey = 1
export const pointRow = (text = ''): PointRow => ({ key: nextKey++, text })
export const faqRow = (q = '', a = ''): FaqRow => ({ key: nextKey++, q, a })

/** The form for `product`, or an empty one. */
export function productDraft(product: Product | null = null): ProductDraft {
  return {
    name: product?.name ?? '',
    price: product?.price ?? null,
    currency: product?.currency || 'CNY',
    points: (product?.selling_points ?? []).map((p) => pointRow(p)),
    faq: (product?.faq ?? []).map((f) => faqRow(f.q, f.a)),
    link: product?.link ?? '',
    stock: product?.stock ?? '',
  }
}

/**
 * The form's mistakes by the API's field names ("name", "faq.2.a", ...), before anything is sent.
 * Blank selling points and blank FAQ rows are left out, not refused.
 */
export function productProblems(d: ProductDraft): Record<string, string> {
  const errs: Record<string, string> = {}
  if (!d.name.trim()) errs.name = t('products.nameRequired')
  if (d.price !== null && (!Number.isFinite(d.price) || d.price < 0)) errs.price = t('products.priceInvalid')
  if (!/^[A-Z]{3}$/.test(d.currency.trim().toUpperCase())) errs.currency = t('products.currencyInvalid')
  let faqIndex = 0
  for (const row of d.faq) {
    const q = row.q.trim()
    const a = row.a.trim()
    if (!q && !a) continue
    if (!q) errs[`faq.${faqIndex}.q`] = t('products.faqQuestionMissing')
    if (!a) errs[`faq.${faqIndex}.a`] = t('products.faqAnswerMissing')
    faqIndex++
  }
  return errs
}

/** What the form sends: trimmed, blank rows left out, price to 2 decimals. */
export function productPayload(d: ProductDraft): ProductIn {
  return {
    name: d.name.trim(),
    price: d.price === null || !Number.isFinite(d.price) ? null : Math.round(d.price * 100) / 100,
    currency: d.currency.trim().toUpperCase() || 'CNY',
    selling_points: d.points.map((p) => p.text.trim()).filter(Boolean),
    faq: d.faq.map((f) => ({ q: f.q.trim(), a: f.a.trim() })).filter((f) => f.q || f.a),
    link: d.link.trim(),
    stock: d.stock.trim(),
  }
}

/**
 * Where the API's field of a FAQ row or selling point is in the form: the API counts the rows
 * sent (blank ones left out), the form counts all of its rows. Maps "faq.1.a" to the form's row key.
 */
export function rowKeyOf(d: ProductDraft, field: string): number | null {
  const m = /^(selling_points|faq)\.(\d+)/.exec(field)
  if (!m) return null
  const n = Number(m[2])
  const rows = m[1] === 'faq'
    ? d.faq.filter((f) => f.q.trim() || f.a.trim())
    : d.points.filter((p) => p.text.trim())
  return rows[n]?.key ?? null
}

/** "¥99.00" / "CN¥99.00"; '—' without a price. */
export function priceText(price: number | null | undefined, currency = 'CNY'): string {
  if (price === null || price === undefined || !Number.isFinite(price)) return '—'
  try {
    return new Intl.NumberFormat(locale.value, { style: 'currency', currency: currency || 'CNY' }).format(price)
  } catch {
    return `${price.toFixed(2)} ${currency}`
  }
}
