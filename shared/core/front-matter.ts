// YAML front matter (`---` … `---` or `...` at the very start of a Markdown document), pure.
// It describes the document (title, description), so it becomes document fields and is never
// passage text: chunking starts after it, and the field index reads its keys.

const FRONT_MATTER = /^---[ \t]*\r?\n([^]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/;

export interface FrontMatter {
  /** offset of the first character after the block (0 when there is none) */
  end: number;
  /** its flat `key: value` pairs, keys lower-cased, surrounding quotes removed */
  fields: Record<string, string>;
}

export function frontMatter(text: string): FrontMatter {
  const m = FRONT_MATTER.exec(text);
  if (!m) return { end: 0, fields: {} };
  const fields: Record<string, string> = {};
  for (const line of m[1]!.split(/\r?\n/)) {
    const kv = /^([A-Za-z][\w-]*)\s*:\s*(.*\S)\s*$/.exec(line);
    if (kv) fields[kv[1]!.toLowerCase()] ??= kv[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return { end: m[0].length, fields };
}
