/** The console's history of a live's heartbeat, for the charts: one sample per poll, capped. */
import type { LiveStatus } from '@/api/types'

export interface LiveSample {
  /** epoch ms */
  t: number
  fps: number | null
  bitrate: number | null
  queues: Record<string, number>
}

export const MAX_SAMPLES = 300 // five minutes at one poll a second

/** A sample from a heartbeat, or null when there is none or it was already taken. */
export function sampleOf(live: LiveStatus | null | undefined, last: LiveSample | undefined, now = Date.now()): LiveSample | null {
  if (!live) return null
  const at = live.updated_at ? live.updated_at * 1000 : now
  if (last && at <= last.t) return null
  return { t: at, fps: live.fps ?? null, bitrate: live.bitrate ?? null, queues: { ...(live.queues ?? {}) } }
}

export function pushSample(samples: LiveSample[], sample: LiveSample | null): LiveSample[] {
  if (!sample) return samples
  const out = samples.length >= MAX_SAMPLES ? samples.slice(samples.length - MAX_SAMPLES + 1) : samples.slice()
  out.push(sample)
  return out
}
