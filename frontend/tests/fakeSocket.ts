import type { SocketLike } from '@/lib/pushToTalk'

/** A WebSocket stand-in: records what the client sends; the test plays the server. */
export class FakeSocket implements SocketLike {
  static made: FakeSocket[] = []
  binaryType = 'blob'
  readyState = 0
  sent: (string | ArrayBufferLike | ArrayBufferView)[] = []
  closed = false
  onopen: ((e: Event) => void) | null = null
  onmessage: ((e: MessageEvent) => void) | null = null
  onerror: ((e: Event) => void) | null = null
  onclose: ((e: CloseEvent) => void) | null = null
  constructor(public url: string) { FakeSocket.made.push(this) }
  send(data: string | ArrayBufferLike | ArrayBufferView) { this.sent.push(data) }
  close() { this.closed = true; this.readyState = 3 }
  open() { this.readyState = 1; this.onopen?.(new Event('open')) }
  /** the server goes away */
  drop() { this.readyState = 3; this.onclose?.(new Event('close') as CloseEvent) }
  reply(msg: object) { this.onmessage?.(new MessageEvent('message', { data: JSON.stringify(msg) })) }
}
