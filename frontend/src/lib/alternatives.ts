/**
 * Alternatives in a script's say text: "{今天|现在}" is one of its options, chosen at random each
 * loop (the streamer's parse_script refuses unbalanced braces). Here: the text cut into plain
 * pieces, groups of options and bad braces (for highlighting), what is wrong with its braces (for
 * a message before the text is sent), and how many different sentences it can make.
 */

/** What is wrong with a brace: "{" never closed, "}" never opened, "{" inside a group, "{}" with nothing in it. */
export type AltProblemKind = 'unclosed' | 'unopened' | 'nested' | 'empty'

export interface AltProblem {
  kind: AltProblemKind
  /** index of the offending brace in the text */
  at: number
}

/** A piece of the text: plain text, a group of options (with its braces), or a brace that is wrong. */
export interface AltPiece {
  kind: 'text' | 'choice' | 'bad'
  text: string
  /** a choice's options */
  options?: string[]
}

export interface AltCheck {
  pieces: AltPiece[]
  problems: AltProblem[]
  /** how many different texts the choices make (1 without any) */
  variants: number
  /** how many groups of options */
  groups: number
}

/** The text's pieces and brace problems (none when the streamer would take it). */
export function checkAlternatives(text: string): AltCheck {
  const pieces: AltPiece[] = []
  const problems: AltProblem[] = []
  let plainFrom = 0
  let open: number | null = null
  let nested = false
  let variants = 1
  let groups = 0

  const plain = (to: number) => {
    if (to > plainFrom) pieces.push({ kind: 'text', text: text.slice(plainFrom, to) })
  }

  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '{') {
      if (open === null) {
        plain(i)
        open = i
        nested = false
      } else {
        problems.push({ kind: 'nested', at: i })
        nested = true
      }
    } else if (c === '}') {
      if (open === null) {
        plain(i)
        problems.push({ kind: 'unopened', at: i })
        pieces.push({ kind: 'bad', text: '}' })
        plainFrom = i + 1
        continue
      }
      const inner = text.slice(open + 1, i)
      const group = text.slice(open, i + 1)
      if (nested) {
        pieces.push({ kind: 'bad', text: group })
      } else if (!inner.trim()) {
        problems.push({ kind: 'empty', at: open })
        pieces.push({ kind: 'bad', text: group })
      } else {
        const options = inner.split('|')
        pieces.push({ kind: 'choice', text: group, options })
        variants *= options.length
        groups += 1
      }
      open = null
      plainFrom = i + 1
    }
  }
  if (open !== null) {
    problems.push({ kind: 'unclosed', at: open })
    pieces.push({ kind: 'bad', text: text.slice(open) })
  } else {
    plain(text.length)
  }
  problems.sort((a, b) => a.at - b.at)
  return { pieces, problems, variants, groups }
}

/** The first brace problem of `text`, or null when its braces are balanced. */
export function firstAltProblem(text: string): AltProblem | null {
  return checkAlternatives(text).problems[0] ?? null
}
