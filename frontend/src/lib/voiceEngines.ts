/**
 * The voice engines as the voices page offers them: local ones (espeak, piper), an online one (edge)
 * and TTS servers of the user's own (GPT-SoVITS, CosyVoice: `voice` is the server's URL, `params` its
 * parameters), which settings each has, and a server voice's parameters as the form edits them (rows
 * of name and value) and sends them (a dict), with their problems by the API's field names.
 */
import type { VoiceEngine } from '@/api/types'
import type { MessageKey } from '@/i18n'

export type ServerEngine = Extract<VoiceEngine, 'gptsovits' | 'cosyvoice'>
export type LocalEngine = Exclude<VoiceEngine, ServerEngine>

export interface EngineInfo {
  value: VoiceEngine
  label: string
  /** where it speaks from: this machine, the internet, or the user's own TTS server */
  kind: 'offline' | 'online' | 'server'
  /** has a rate setting (GPT-SoVITS: its speed_factor) */
  rate: boolean
  pitch: boolean
}

export const ENGINES: readonly EngineInfo[] = [
  { value: 'espeak', label: 'espeak', kind: 'offline', rate: true, pitch: true },
  { value: 'edge', label: 'edge', kind: 'online', rate: true, pitch: true },
  { value: 'piper', label: 'piper', kind: 'offline', rate: true, pitch: false },
  { value: 'gptsovits', label: 'GPT-SoVITS', kind: 'server', rate: true, pitch: false },
  { value: 'cosyvoice', label: 'CosyVoice', kind: 'server', rate: false, pitch: false },
]

export function engineInfo(engine: string): EngineInfo {
  return ENGINES.find((e) => e.value === engine) ?? { value: engine as VoiceEngine, label: engine, kind: 'offline', rate: true, pitch: true }
}

export function isServerEngine(engine: string | null | undefined): engine is ServerEngine {
  return engine === 'gptsovits' || engine === 'cosyvoice'
}

/** Where each server listens out of the box. */
export const SERVER_URL_EXAMPLE: Record<ServerEngine, string> = {
  gptsovits: 'http://127.0.0.1:9880',
  cosyvoice: 'http://127.0.0.1:50000',
}

/** Voices of the local and online engines ('' = the engine's default). */
export const VOICE_CHOICES: Record<LocalEngine, { value: string; label: string }[]> = {
  espeak: [
    { value: '', label: 'auto (cmn / en by text)' },
    { value: 'cmn', label: 'cmn — 普通话' },
    { value: 'en', label: 'en — English' },
    { value: 'en-us', label: 'en-us — English (US)' },
    { value: 'yue', label: 'yue — 粤语' },
  ],
  edge: [
    { value: '', label: 'default' },
    ...['zh-CN-XiaoxiaoNeural', 'zh-CN-XiaoyiNeural', 'zh-CN-YunxiNeural', 'zh-CN-YunjianNeural', 'zh-CN-YunyangNeural',
      'zh-TW-HsiaoChenNeural', 'zh-HK-HiuMaanNeural', 'en-US-AriaNeural', 'en-US-JennyNeural', 'en-US-GuyNeural',
      'en-GB-SoniaNeural', 'ja-JP-NanamiNeural'].map((v) => ({ value: v, label: v })),
  ],
  piper: [
    { value: '', label: 'default (the installed voice)' },
    ...['zh_CN-huayan-medium', 'en_US-joe-medium', 'en_US-lessac-medium'].map((v) => ({ value: v, label: v })),
  ],
}

/** A server parameter the form suggests: an example value, the values it takes, a line of help. */
export interface KnownParam {
  key: string
  example?: string
  values?: readonly string[]
  help?: MessageKey
  /** offered as a one-click "+ key" under the editor */
  common?: boolean
}

/** What each server takes (streamer/voice/gptsovits.py PARAMS and cosyvoice.py; the API checks them again). */
export const KNOWN_PARAMS: Record<ServerEngine, readonly KnownParam[]> = {
  gptsovits: [
    { key: 'prompt_lang', example: 'zh', values: ['zh', 'en', 'ja', 'ko', 'yue', 'auto'], help: 'voices.param.prompt_lang', common: true },
    { key: 'text_lang', example: 'zh', values: ['zh', 'en', 'ja', 'ko', 'yue', 'auto'], help: 'voices.param.text_lang', common: true },
    { key: 'top_k', example: '5', help: 'voices.param.top_k', common: true },
    { key: 'top_p', example: '1', help: 'voices.param.top_p' },
    { key: 'temperature', example: '1', help: 'voices.param.temperature', common: true },
    { key: 'speed_factor', example: '1.0', help: 'voices.param.speed_factor' },
    { key: 'streaming_mode', example: 'true', values: ['true', '1', '2', '3'], help: 'voices.param.streaming_mode' },
    { key: 'gpt_weights', example: 'GPT_weights_v2/host-e15.ckpt', help: 'voices.param.gpt_weights', common: true },
    { key: 'sovits_weights', example: 'SoVITS_weights_v2/host_e8_s200.pth', help: 'voices.param.sovits_weights', common: true },
    { key: 'ref_audio_path', example: '/data/ref/host.wav', help: 'voices.param.ref_audio_path' },
    { key: 'prompt_text', help: 'voices.param.prompt_text' },
    { key: 'timeout', example: '3', help: 'voices.param.timeout' },
    { key: 'text_split_method', example: 'cut5', values: ['cut0', 'cut1', 'cut2', 'cut3', 'cut4', 'cut5'], help: 'voices.param.text_split_method' },
    ...['batch_size', 'batch_threshold', 'split_bucket', 'fragment_interval', 'seed', 'parallel_infer', 'repetition_penalty',
      'sample_steps', 'super_sampling', 'overlap_length', 'min_chunk_length', 'aux_ref_audio_paths'].map((key) => ({ key })),
  ],
  cosyvoice: [
    { key: 'mode', example: 'sft', values: ['sft', 'zero_shot', 'cross_lingual', 'instruct', 'instruct2'], help: 'voices.param.mode', common: true },
    { key: 'spk_id', example: '中文女', values: ['中文女', '中文男', '英文女', '英文男', '粤语女', '日语男', '韩语女'], help: 'voices.param.spk_id', common: true },
    { key: 'instruct_text', help: 'voices.param.instruct_text', common: true },
    { key: 'sample_rate', example: '22050', values: ['22050', '24000'], help: 'voices.param.sample_rate', common: true },
    { key: 'prompt_text', help: 'voices.param.prompt_text' },
    { key: 'timeout', example: '3', help: 'voices.param.timeout' },
  ],
}

export function knownParam(engine: VoiceEngine, key: string): KnownParam | undefined {
  return isServerEngine(engine) ? KNOWN_PARAMS[engine].find((p) => p.key === key) : undefined
}

/** The API's limits on a server voice's parameters (VoiceIn.params). */
export const PARAM_LIMITS = { count: 40, value: 500 }
const PARAM_KEY = /^[a-z][a-z0-9_]{0,39}$/

/** One parameter as the form edits it; `id` names the row while rows come and go. */
export interface ParamRow {
  id: number
  key: string
  value: string
}

let rowIds = 0

export function paramRow(key = '', value = ''): ParamRow {
  return { id: ++rowIds, key, value }
}

/** The form's rows of saved parameters, in their order. */
export function paramRows(params?: Record<string, string> | null): ParamRow[] {
  return Object.entries(params ?? {}).map(([k, v]) => paramRow(k, v))
}

export type ParamProblem = 'key_required' | 'key_format' | 'duplicate' | 'too_many'

export const PARAM_PROBLEM: Record<ParamProblem, MessageKey> = {
  key_required: 'voices.paramKeyRequired',
  key_format: 'voices.paramKeyFormat',
  duplicate: 'voices.paramDuplicate',
  too_many: 'voices.paramsTooMany',
}

/**
 * What to send for the rows (rows with neither name nor value are left out), and their problems: by row
 * as `params.#<index>`, or `params` for the whole.
 */
export function paramsPayload(rows: readonly ParamRow[]): { params: Record<string, string>; problems: Record<string, ParamProblem> } {
  const params: Record<string, string> = {}
  const problems: Record<string, ParamProblem> = {}
  rows.forEach((row, i) => {
    const key = row.key.trim()
    if (!key && !row.value.trim()) return
    if (!key) problems[`params.#${i}`] = 'key_required'
    else if (!PARAM_KEY.test(key)) problems[`params.#${i}`] = 'key_format'
    else if (key in params) problems[`params.#${i}`] = 'duplicate'
    else params[key] = row.value.trim()
  })
  if (Object.keys(params).length > PARAM_LIMITS.count) problems.params = 'too_many'
  return { params, problems }
}

/** Does a message of the streamer name parameter `key` ("parameter top_k must be ...", "takes no spk_id")? */
function names(message: string, key: string): boolean {
  const k = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`(?:parameter '?|takes no )${k}(?![a-z0-9_])`).test(message)
}

/**
 * The messages of `errors` (by the API's field names) about the parameters, placed: under a row (its
 * `params.#<i>`, `params.<key>`, `params.<key>.[key]`, or a `params` message that names its key), and
 * the rest under the editor as a whole.
 */
export function placeParamErrors(rows: readonly ParamRow[], errors: Record<string, string>): { rows: string[]; rest: string[] } {
  const out = rows.map(() => '')
  const used = new Set<string>()
  rows.forEach((row, i) => {
    const key = row.key.trim()
    for (const field of [`params.#${i}`, `params.${key}`, `params.${key}.[key]`]) {
      if (errors[field] && !out[i] && (key || field === `params.#${i}`)) {
        out[i] = errors[field]
        used.add(field)
      }
    }
  })
  const general = errors.params
  if (general) {
    const i = rows.findIndex((row, j) => row.key.trim() && !out[j] && names(general, row.key.trim()))
    if (i >= 0) {
      out[i] = general
      used.add('params')
    }
  }
  const rest = Object.entries(errors)
    .filter(([field]) => (field === 'params' || field.startsWith('params.')) && !used.has(field))
    .map(([, message]) => message)
  return { rows: out, rest }
}

export type ServerUrlProblem = 'required' | 'scheme'

export const SERVER_URL_PROBLEM: Record<ServerUrlProblem, MessageKey> = {
  required: 'voices.urlRequired',
  scheme: 'voices.urlScheme',
}

/** Why a server's URL cannot be sent, or null (the API checks it again). */
export function serverUrlProblem(url: string): ServerUrlProblem | null {
  const u = url.trim()
  if (!u) return 'required'
  return /^https?:\/\/\S+$/i.test(u) ? null : 'scheme'
}
