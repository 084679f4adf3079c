/**
 * A room's extra RTMP destinations as the room form holds them while they are edited, and what
 * the form sends from them. The list sent replaces the saved one; a saved destination is named by
 * its id, and its write-only key is sent only when typed (null keeps the saved key).
 */
import type { Destination, DestinationIn, TestPushIn } from '@/api/types'
import { pushUrlProblem, type PushUrlProblem } from './platforms'

export interface DestinationDraft {
  /** names the row in the form (stable while rows are added and removed) */
  key: string
  /** the saved destination's id; null for one added in the form */
  id: number | null
  name: string
  server_url: string
  /** as typed; empty keeps the saved key */
  stream_key: string
  /** the saved key, masked ('****abcd'), or '' when none is saved */
  savedKey: string
  enabled: boolean
}

/** Why a destination's field cannot be sent. */
export type DestinationProblem = { field: 'name'; problem: 'required' } | { field: 'server_url'; problem: PushUrlProblem }

/** The form's drafts of the saved destinations. */
export function destinationsDraft(saved?: readonly Destination[] | null): DestinationDraft[] {
  return (saved ?? []).map((d) => ({
    key: `saved-${d.id}`, id: d.id, name: d.name, server_url: d.server_url, stream_key: '', savedKey: d.stream_key, enabled: d.enabled,
  }))
}

/** A new, empty destination (enabled, no key). */
let added = 0

export function newDestination(): DestinationDraft {
  return { key: `new-${++added}`, id: null, name: '', server_url: '', stream_key: '', savedKey: '', enabled: true }
}

/**
 * What to send for the drafts, and their problems by the API's field name
 * (`destinations.<i>.name`, `destinations.<i>.server_url`).
 */
export function destinationsPayload(drafts: readonly DestinationDraft[]): {
  destinations: DestinationIn[]
  problems: Record<string, DestinationProblem>
} {
  const problems: Record<string, DestinationProblem> = {}
  const destinations = drafts.map((d, i): DestinationIn => {
    const name = d.name.trim()
    const server = d.server_url.trim()
    if (!name) problems[`destinations.${i}.name`] = { field: 'name', problem: 'required' }
    const urlProblem = pushUrlProblem(server)
    if (urlProblem) problems[`destinations.${i}.server_url`] = { field: 'server_url', problem: urlProblem }
    const key = d.stream_key.trim()
    const body: DestinationIn = { name, server_url: server, enabled: d.enabled }
    if (d.id !== null) {
      body.id = d.id
      body.stream_key = key || null
    } else if (key) {
      body.stream_key = key
    }
    return body
  })
  return { destinations, problems }
}

/**
 * What a destination's test push sends: its server URL as typed and its key when typed. A saved
 * one is named by id, so that an empty key field pushes with its saved key; a new one without a
 * key pushes with none (never the room's own key). A URL the API would refuse: its problem instead.
 */
export function destinationTestPush(d: DestinationDraft): { body: TestPushIn } | { problem: PushUrlProblem } {
  const server = d.server_url.trim()
  const problem = pushUrlProblem(server)
  if (problem) return { problem }
  const key = d.stream_key.trim()
  const body: TestPushIn = { seconds: 3, server_url: server }
  if (d.id !== null) {
    body.destination = d.id
    if (key) body.stream_key = key
  } else {
    body.stream_key = key
  }
  return { body }
}
