/** Small display helpers: dates, sizes, rates. */
import { locale } from '@/i18n'

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleString(locale.value, { hour12: false })
}

export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleTimeString(locale.value, { hour12: false, hour: '2-digit', minute: '2-digit' })
}

/** 2534000 -> "2.53 Mbit/s" */
export function bitrate(bps: number | null | undefined): string {
  if (bps == null || !Number.isFinite(bps)) return '—'
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbit/s`
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(0)} kbit/s`
  return `${Math.round(bps)} bit/s`
}

/** seconds -> "1:02:05" / "4:05" */
export function clock(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return '—'
  const s = Math.max(0, Math.floor(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const p = (x: number) => String(x).padStart(2, '0')
  return h ? `${h}:${p(m)}:${p(s % 60)}` : `${m}:${p(s % 60)}`
}

export function percent(fraction: number | null | undefined): number {
  if (fraction == null || !Number.isFinite(fraction)) return 0
  return Math.max(0, Math.min(100, Math.round(fraction * 100)))
}
