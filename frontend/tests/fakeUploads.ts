import { vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'

export interface SentUpload { form: FormData; url: string; method: string; token: string | null }

/**
 * An XMLHttpRequest stand-in for uploads. Each upload reports half its bytes sent, then waits until
 * the test calls `answer()`, which gives it what `reply` said: the page's state during an upload is
 * seen without racing a timer.
 */
export function fakeUploads(reply: (form: FormData, url: string, method: string) => { status: number; body: unknown }) {
  const sent: SentUpload[] = []
  const waiting: (() => void)[] = []
  class FakeXhr {
    status = 0
    statusText = ''
    responseText = ''
    upload: { onprogress: ((e: { lengthComputable: boolean; loaded: number; total: number }) => void) | null } = { onprogress: null }
    onload: (() => void) | null = null
    private method = ''
    private url = ''
    private token: string | null = null
    open(method: string, url: string) { this.method = method; this.url = url }
    setRequestHeader(name: string, value: string) { if (name === 'Authorization') this.token = value.replace(/^Bearer /, '') }
    send(form: FormData) {
      sent.push({ form, url: this.url, method: this.method, token: this.token })
      this.upload.onprogress?.({ lengthComputable: true, loaded: 1, total: 2 })
      const out = reply(form, this.url, this.method)
      waiting.push(() => {
        this.status = out.status
        this.responseText = JSON.stringify(out.body)
        this.onload?.()
      })
    }
  }
  vi.stubGlobal('XMLHttpRequest', FakeXhr)
  return {
    sent,
    /** Answers every upload sent so far and lets the page take the answers in. */
    async answer(): Promise<void> {
      for (const deliver of waiting.splice(0)) deliver()
      await flushPromises()
    },
  }
}
