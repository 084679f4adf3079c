/**
 * A room's scene (settings.scene) in the room form: the API's defaults and limits, the form's copy
 * (the logo and title with an on/off switch, media ids that may still be unchosen), the form's own
 * checks by the API's field names, and what the form sends.
 */
import type { BackgroundType, Corner, MusicStatus, SceneBox, SceneCard, SceneSettings } from '@/api/types'
import { t } from '@/i18n'

export const SCENE_LIMITS = {
  aiLabelText: 20,
  title: 60,
  card: 60,
  playlist: 50,
  volume: { min: -40, max: 0 },
  /** the API takes 0..30 (backend/resources/scene.py Music.duck_db) */
  duck: { min: 0, max: 30 },
  loudness: { min: -30, max: -10 },
  /** text heights: a fraction of the canvas' shorter side */
  size: { min: 0.01, max: 0.5 },
  /** a box's width and height at least */
  minSide: 0.02,
} as const

export const CORNERS: readonly Corner[] = ['top-left', 'top-right', 'bottom-left', 'bottom-right']
export const BACKGROUNDS: readonly BackgroundType[] = ['blur', 'image', 'video']
/** The preview's canvas sizes (the API takes these only). */
export const PREVIEW_SIZES = ['720x1280', '1080x1920', '1920x1080', '1280x720'] as const
export type PreviewSize = (typeof PREVIEW_SIZES)[number]

const box = (x: number, y: number, w: number, h: number): SceneBox => ({ x, y, w, h })
/** the API's defaults of a logo's and a title's box and a title's text height */
export const DEFAULT_LOGO_BOX = box(0.03, 0.03, 0.2, 0.08)
export const DEFAULT_TITLE_BOX = box(0.05, 0.1, 0.9, 0.07)
export const DEFAULT_TITLE_SIZE = 0.04

export const DEFAULT_SCENE: Readonly<SceneSettings> = {
  captions: true,
  caption_style: 'band',
  caption_box: box(0.05, 0.74, 0.9, 0.16),
  caption_size: 0.05,
  ai_label: 'auto',
  ai_label_text: '',
  ai_label_corner: 'top-right',
  background: { type: 'blur' },
  logo: null,
  title: null,
  product_card: true,
  product_card_box: box(0.04, 0.5, 0.5, 0.13),
  cards: { starting_soon: '', be_right_back: '' },
  music: { playlist: [], volume_db: -14, duck_db: 12 },
  loudness: -16,
}

/** The scene as the form edits it: the logo and title switched on or off, media not chosen yet as null. */
export interface SceneDraft extends Omit<SceneSettings, 'background' | 'logo' | 'title'> {
  background: { type: BackgroundType; media: number | null }
  logo: { on: boolean; media: number | null; box: SceneBox }
  title: { on: boolean; text: string; box: SceneBox; size: number }
}

const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback)
const id = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null)
const boxOf = (v: unknown, fallback: SceneBox): SceneBox => {
  const b = (v && typeof v === 'object' ? v : {}) as Partial<SceneBox>
  return { x: num(b.x, fallback.x), y: num(b.y, fallback.y), w: num(b.w, fallback.w), h: num(b.h, fallback.h) }
}
const oneOf = <T extends string>(v: unknown, choices: readonly T[], fallback: T): T =>
  (choices.includes(v as T) ? (v as T) : fallback)

/** The form's copy of a room's saved scene over the defaults (nothing shared with `saved`). */
export function sceneDraft(saved?: Partial<SceneSettings> | null): SceneDraft {
  const s = (saved ?? {}) as Partial<Record<keyof SceneSettings, unknown>>
  const d = DEFAULT_SCENE
  const bg = (s.background ?? {}) as { type?: unknown; media?: unknown }
  const logo = s.logo as { media?: unknown; box?: unknown } | null | undefined
  const title = s.title as { text?: unknown; box?: unknown; size?: unknown } | null | undefined
  const cards = (s.cards ?? {}) as Partial<Record<string, unknown>>
  const music = (s.music ?? {}) as { playlist?: unknown; volume_db?: unknown; duck_db?: unknown }
  const text = (v: unknown) => (typeof v === 'string' ? v : '')
  return {
    captions: typeof s.captions === 'boolean' ? s.captions : d.captions,
    caption_style: oneOf(s.caption_style, ['band', 'outline'] as const, d.caption_style),
    caption_box: boxOf(s.caption_box, d.caption_box),
    caption_size: num(s.caption_size, d.caption_size),
    ai_label: oneOf(s.ai_label, ['auto', 'on', 'off'] as const, d.ai_label),
    ai_label_text: text(s.ai_label_text),
    ai_label_corner: oneOf(s.ai_label_corner, CORNERS, d.ai_label_corner),
    background: { type: oneOf(bg.type, BACKGROUNDS, 'blur'), media: id(bg.media) },
    logo: { on: !!logo, media: id(logo?.media), box: boxOf(logo?.box, DEFAULT_LOGO_BOX) },
    title: { on: !!title, text: text(title?.text), box: boxOf(title?.box, DEFAULT_TITLE_BOX), size: num(title?.size, DEFAULT_TITLE_SIZE) },
    product_card: typeof s.product_card === 'boolean' ? s.product_card : d.product_card,
    product_card_box: boxOf(s.product_card_box, d.product_card_box),
    cards: { starting_soon: text(cards.starting_soon), be_right_back: text(cards.be_right_back) },
    music: {
      playlist: Array.isArray(music.playlist) ? music.playlist.map(id).filter((x): x is number => x !== null) : [],
      volume_db: num(music.volume_db, d.music.volume_db),
      duck_db: num(music.duck_db, d.music.duck_db),
    },
    loudness: num(s.loudness, d.loudness),
  }
}

/**
 * What the form sends (and what the preview shows): texts trimmed, a background, logo or title
 * that is not complete yet left out (sceneProblems says so before a save).
 */
export function scenePayload(d: SceneDraft): SceneSettings {
  const bg = d.background.type !== 'blur' && d.background.media !== null
    ? { type: d.background.type, media: d.background.media }
    : { type: 'blur' as const }
  const title = d.title.text.trim()
  return {
    captions: d.captions,
    caption_style: d.caption_style,
    caption_box: { ...d.caption_box },
    caption_size: d.caption_size,
    ai_label: d.ai_label,
    ai_label_text: d.ai_label_text.trim(),
    ai_label_corner: d.ai_label_corner,
    background: bg,
    logo: d.logo.on && d.logo.media !== null ? { media: d.logo.media, box: { ...d.logo.box } } : null,
    title: d.title.on && title ? { text: title, box: { ...d.title.box }, size: d.title.size } : null,
    product_card: d.product_card,
    product_card_box: { ...d.product_card_box },
    cards: { starting_soon: d.cards.starting_soon.trim(), be_right_back: d.cards.be_right_back.trim() },
    music: { playlist: [...new Set(d.music.playlist)], volume_db: d.music.volume_db, duck_db: d.music.duck_db },
    loudness: d.loudness,
  }
}

/** Why `b` is not a box the API takes (null when it is). */
export function boxProblem(b: SceneBox): string | null {
  const parts = [b.x, b.y, b.w, b.h]
  if (parts.some((v) => !Number.isFinite(v) || v < 0 || v > 1)) return t('scene.boxRange')
  if (b.w < SCENE_LIMITS.minSide - 1e-9 || b.h < SCENE_LIMITS.minSide - 1e-9) return t('scene.boxSmall')
  if (b.x + b.w > 1 + 1e-9 || b.y + b.h > 1 + 1e-9) return t('scene.boxOutside')
  return null
}

/** The form's mistakes by the API's field names ("settings.scene.logo.media", ...), before anything is sent. */
export function sceneProblems(d: SceneDraft): Record<string, string> {
  const errs: Record<string, string> = {}
  const f = (name: string) => `settings.scene.${name}`
  if (d.background.type !== 'blur' && d.background.media === null) {
    errs[f('background.media')] = t(d.background.type === 'image' ? 'scene.pickImage' : 'scene.pickVideo')
  }
  if (d.logo.on && d.logo.media === null) errs[f('logo.media')] = t('scene.pickImage')
  if (d.title.on && !d.title.text.trim()) errs[f('title.text')] = t('scene.titleRequired')
  const boxes: [string, SceneBox, boolean][] = [
    ['caption_box', d.caption_box, true], ['product_card_box', d.product_card_box, true],
    ['logo.box', d.logo.box, d.logo.on], ['title.box', d.title.box, d.title.on],
  ]
  for (const [name, b, used] of boxes) {
    const problem = used ? boxProblem(b) : null
    if (problem) errs[f(name)] = problem
  }
  return errs
}

/** The preview's fields as the room form's ("scene.logo.box" -> "settings.scene.logo.box"). */
export function previewFields(errors: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [field, message] of Object.entries(errors)) {
    out[field.startsWith('scene.') ? `settings.${field}` : field] = message
  }
  return out
}

/** A box moved to a corner or edge of the canvas, its size kept (a margin of 3 %). */
export function placeBox(b: SceneBox, where: 'top-left' | 'top' | 'top-right' | 'bottom-left' | 'bottom' | 'bottom-right'): SceneBox {
  const m = 0.03
  const x = where.endsWith('left') ? m : where.endsWith('right') ? 1 - m - b.w : (1 - b.w) / 2
  const y = where.startsWith('top') ? m : 1 - m - b.h
  const round = (v: number) => Math.round(Math.max(0, v) * 1000) / 1000
  return { ...b, x: round(x), y: round(y) }
}

/** A card's name in words ("Be right back"); an unknown one as the worker named it. */
export function cardName(card: SceneCard | string): string {
  if (card === 'starting_soon') return t('console.cardStartingSoon')
  if (card === 'be_right_back') return t('console.cardBeRightBack')
  return card
}

/**
 * The heartbeat's music in words: "loop.mp3 · 2 tracks · lowered under the voice", or that it
 * stopped (no file of the playlist could be played); null when the live has no music.
 */
export function musicText(m: MusicStatus | null | undefined): string | null {
  if (!m) return null
  const parts: string[] = []
  if (m.playing === false) parts.push(t('console.musicStopped'))
  else if (m.track) parts.push(m.track.split(/[\\/]/).pop() ?? m.track)
  if (m.tracks != null) parts.push(t('console.musicTracks', { n: m.tracks }))
  if (m.playing !== false && m.ducked) parts.push(t('console.musicDucked'))
  if (m.errors) parts.push(t('console.musicErrors', { n: m.errors }))
  return parts.join(' · ') || '—'
}
