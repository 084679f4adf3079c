/**
 * The media library in words: which files it takes (by type, checked again by the API), a file's
 * size and duration as a person reads them, and the kind a scene field asks for.
 */
import type { Media, MediaKind } from '@/api/types'

export const MEDIA_KINDS: readonly MediaKind[] = ['image', 'video', 'audio']

/** What the file picker offers (the API decides from the content). */
export const MEDIA_ACCEPT = 'image/*,video/*,audio/*'

/** The kind a picked file looks like from its type, or null when it is none of them. */
export function kindOfFile(file: File): MediaKind | null {
  const major = file.type.split('/')[0]
  return (MEDIA_KINDS as readonly string[]).includes(major) ? (major as MediaKind) : null
}

/** 1536000 -> "1.5 MB" */
export function fileSize(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) return '—'
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`
  return `${bytes} B`
}

/** 65.4 -> "1:05"; '—' for a picture or an unknown duration */
export function duration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return '—'
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const p = (x: number) => String(x).padStart(2, '0')
  return h ? `${h}:${p(m)}:${p(s % 60)}` : `${m}:${p(s % 60)}`
}

/** "1920×1080" for a picture or video whose size the API knows */
export function dimensions(m: Media): string {
  return m.width && m.height ? `${m.width}×${m.height}` : ''
}

/** A name for an upload from its file name (extension dropped, at most 100 characters). */
export function nameOfFile(file: File): string {
  return file.name.replace(/\.[^.]+$/, '').slice(0, 100)
}
