/**
 * Saving a file the API serves only to signed-in users: it is fetched with the token (as a blob)
 * and handed to the browser as a download under `filename`.
 */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  a.rel = 'noopener'
  document.body.appendChild(a)
  a.click()
  a.remove()
  // the click has started the download; the object URL is released once it has been read
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
