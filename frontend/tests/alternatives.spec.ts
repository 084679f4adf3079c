import { describe, expect, it } from 'vitest'
import { checkAlternatives, firstAltProblem } from '@/lib/alternatives'

const kinds = (text: string) => checkAlternatives(text).problems.map((p) => [p.kind, p.at])

describe('alternatives in say text', () => {
  it('cuts the text into plain pieces and choices, and counts the sentences they make', () => {
    const c = checkAlternatives('{今天|现在}下单，{立减|直降|再减}十元')
    expect(c.problems).toEqual([])
    expect(c.pieces.map((p) => [p.kind, p.text])).toEqual([
      ['choice', '{今天|现在}'], ['text', '下单，'], ['choice', '{立减|直降|再减}'], ['text', '十元'],
    ])
    expect(c.pieces[2].options).toEqual(['立减', '直降', '再减'])
    expect(c.variants).toBe(6)
    expect(c.groups).toBe(2)
  })

  it('takes text without braces as it is', () => {
    expect(checkAlternatives('大家好').pieces).toEqual([{ kind: 'text', text: '大家好' }])
    expect(checkAlternatives('大家好').variants).toBe(1)
    expect(firstAltProblem('')).toBeNull()
  })

  it('finds a "{" never closed, a "}" never opened, a "{" inside a group and an empty group, where they are', () => {
    expect(kinds('欢迎{今天|现在来到直播间')).toEqual([['unclosed', 2]])
    expect(kinds('欢迎}来到直播间')).toEqual([['unopened', 2]])
    expect(kinds('{今天|{现在}}')).toEqual([['nested', 4], ['unopened', 8]])
    expect(kinds('好{}的')).toEqual([['empty', 1]])
    expect(firstAltProblem('a}b{c')).toEqual({ kind: 'unopened', at: 1 })
  })

  it('marks the bad braces as pieces of their own, keeping the rest of the text', () => {
    const c = checkAlternatives('先说}再说{没完')
    expect(c.pieces.map((p) => [p.kind, p.text])).toEqual([
      ['text', '先说'], ['bad', '}'], ['text', '再说'], ['bad', '{没完'],
    ])
    expect(c.pieces.map((p) => p.text).join('')).toBe('先说}再说{没完')
  })
})
