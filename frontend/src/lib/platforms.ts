/**
 * Push settings as each platform shows them to its streamers: the label of the server field and
 * of the key field (in the platform's own words), a usual server URL, and where to find them.
 */
import type { Platform, RoomSettings } from '@/api/types'
import type { Locale, MessageKey } from '@/i18n'
import { DEFAULT_AUDIENCE } from './audienceSettings'
import { DEFAULT_SCENE } from './scene'
import { DEFAULT_SELLING } from './selling'

type Words = Record<Locale, string>

export interface PlatformPreset {
  id: Platform
  name: Words
  serverLabel: Words
  keyLabel: Words
  /** the usual push server; filled in when the platform is chosen and the field is empty */
  server: string
  keyPlaceholder: string
  help: Words
}

export const PLATFORM_PRESETS: readonly PlatformPreset[] = [
  {
    id: 'douyin',
    name: { 'zh-CN': '抖音', en: 'Douyin' },
    serverLabel: { 'zh-CN': '推流地址', en: 'Push URL (推流地址)' },
    keyLabel: { 'zh-CN': '推流密钥', en: 'Push key (推流密钥)' },
    server: 'rtmp://push-rtmp-l1.douyincdn.com/third',
    keyPlaceholder: 'stream-…?expire=…&sign=…',
    help: {
      'zh-CN': '抖音直播伴侣或抖音开放平台“第三方推流”页面给出推流地址和推流密钥；密钥每次开播可能变化。',
      en: 'Douyin shows the push URL and push key on its third-party streaming (OBS) page; the key may change for each live.',
    },
  },
  {
    id: 'bilibili',
    name: { 'zh-CN': '哔哩哔哩', en: 'Bilibili' },
    serverLabel: { 'zh-CN': '服务器地址', en: 'Server address (服务器地址)' },
    keyLabel: { 'zh-CN': '串流密钥', en: 'Stream key (串流密钥)' },
    server: 'rtmp://live-push.bilivideo.com/live-bvc/',
    keyPlaceholder: '?streamname=live_…&key=…&schedule=rtmp&pflag=1',
    help: {
      'zh-CN': '在 B 站直播中心“我的直播间 → 开播设置”点“开始直播”后，复制服务器地址和串流密钥。',
      en: 'In Bilibili Live Center, "My live room → Start live" shows the server address and the stream key (串流密钥).',
    },
  },
  {
    id: 'kuaishou',
    name: { 'zh-CN': '快手', en: 'Kuaishou' },
    serverLabel: { 'zh-CN': '推流地址', en: 'Push URL (推流地址)' },
    keyLabel: { 'zh-CN': '推流密钥', en: 'Push key (推流密钥)' },
    server: 'rtmp://open-push.voip.yximgs.com/gifshow/',
    keyPlaceholder: 'kwai_…?sign=…',
    help: {
      'zh-CN': '快手直播伴侣或快手开放平台的“推流直播”页面给出推流地址和推流密钥。',
      en: 'Kuaishou shows the push URL and push key on its stream-push (OBS) page.',
    },
  },
  {
    id: 'youtube',
    name: { 'zh-CN': 'YouTube', en: 'YouTube' },
    serverLabel: { 'zh-CN': '串流网址', en: 'Stream URL' },
    keyLabel: { 'zh-CN': '串流密钥', en: 'Stream key' },
    server: 'rtmp://a.rtmp.youtube.com/live2',
    keyPlaceholder: 'xxxx-xxxx-xxxx-xxxx-xxxx',
    help: {
      'zh-CN': 'YouTube 工作室 → 开始直播 → 串流：复制串流网址和串流密钥（也可用 rtmps://a.rtmps.youtube.com/live2）。',
      en: 'YouTube Studio → Go live → Stream: copy the Stream URL and the Stream key (rtmps://a.rtmps.youtube.com/live2 works too).',
    },
  },
  {
    id: 'custom',
    name: { 'zh-CN': '自定义 RTMP', en: 'Custom RTMP' },
    serverLabel: { 'zh-CN': 'RTMP 服务器', en: 'RTMP server' },
    keyLabel: { 'zh-CN': '推流码', en: 'Stream key' },
    server: '',
    keyPlaceholder: 'live/stream',
    help: {
      'zh-CN': '任意 RTMP 接收端，例如 nginx-rtmp：rtmp://host:1935/live，推流码为流名。',
      en: 'Any RTMP ingest, e.g. nginx-rtmp: rtmp://host:1935/live with the stream name as key.',
    },
  },
]

export function presetOf(platform: string): PlatformPreset {
  return PLATFORM_PRESETS.find((p) => p.id === platform) ?? PLATFORM_PRESETS[PLATFORM_PRESETS.length - 1]
}

/** What is wrong with a push server URL, as the API sees it; null when it takes it. */
export type PushUrlProblem = 'scheme' | 'host' | 'plain' | 'port'

/**
 * What the API would refuse in `url` (backend/resources/rooms.py check_server_url): a scheme
 * other than rtmp:// or rtmps://, no host ("rtmp://" alone, "rtmp://:1935/live"), spaces, ? or #,
 * a port that is not 1..65535. Null when it is a push server URL.
 */
export function pushUrlProblem(url: string): PushUrlProblem | null {
  const u = url.trim()
  const m = /^rtmps?:\/\/([^/]*)/i.exec(u)
  if (!m) return 'scheme'
  if (/[\s?#]/.test(u)) return 'plain'
  const authority = m[1].slice(m[1].lastIndexOf('@') + 1)
  const hostPort = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority)
  const host = (hostPort?.[1] ?? '').replace(/^\[|\]$/g, '')
  if (!host) return 'host'
  const port = hostPort?.[2]
  if (port !== undefined && port !== '' && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) return 'port'
  return null
}

/** A push URL's problem in words: the message key. */
export const PUSH_URL_PROBLEM: Readonly<Record<PushUrlProblem, MessageKey>> = {
  scheme: 'rooms.serverInvalid', host: 'rooms.serverNoHost', plain: 'rooms.serverPlain', port: 'rooms.serverPort',
}

/** Is `url` a push server the API accepts (rtmp:// or rtmps://, with a host)? */
export function isPushUrl(url: string): boolean {
  return pushUrlProblem(url) === null
}

/** Every preset's usual server, to know whether a field still holds a default that may be replaced. */
export function isPresetServer(url: string): boolean {
  const u = url.trim()
  return u === '' || PLATFORM_PRESETS.some((p) => p.server && p.server === u)
}

/** A room's behaviour when nothing is set (the server's defaults). */
export const DEFAULT_ROOM_SETTINGS: Readonly<RoomSettings> = {
  persona: '',
  answer_immediately: false,
  interrupt_gap_ms: 1000,
  speech_during_action: 'wait',
  keyword_replies: {},
  default_reply: '',
  fallback_line: '',
  fallback_voice: 'espeak',
  max_reply_chars: 300,
  language: 'auto',
  record: false,
  audience: DEFAULT_AUDIENCE,
  ...DEFAULT_SELLING,
  scene: DEFAULT_SCENE,
}
