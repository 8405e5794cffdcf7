/** A fenced code block of a Markdown document, with the marker comment it follows. */
export interface FencedBlock {
  lang: string
  code: string
  /** 1-based line of the opening fence, for messages. */
  line: number
  /** The last non-blank line before the fence (such as `<!-- example: x -->`), trimmed; '' if none. */
  marker: string
}

/** Matches `<!-- example: <name> -->`: the block is runnable, part of the example `<name>`. */
export const EXAMPLE_MARKER = /^<!--\s*example:\s*([A-Za-z0-9_-]+)\s*-->$/

/**
 * Every fenced code block of `markdown`, in order. The docs tests read their
 * runnable examples (and the expected outputs after them) from these.
 */
export function fencedBlocks(markdown: string, file: string): FencedBlock[] {
  const lines = markdown.split('\n')
  const blocks: FencedBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,}|~{3,})\s*([A-Za-z0-9_-]*)/.exec(lines[i])
    if (!open) continue
    const [, fence, lang] = open
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && !lines[i].startsWith(fence); i++) body.push(lines[i])
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: code block is not closed`)
    let before = start - 1
    while (before >= 0 && lines[before].trim() === '') before--
    blocks.push({ lang, code: body.join('\n'), line: start + 1, marker: before >= 0 ? lines[before].trim() : '' })
  }
  return blocks
}
