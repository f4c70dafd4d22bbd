import { createRequire } from 'node:module';

/**
 * A namespace-aware XML parser for tests (@xmldom/xmldom). Loaded through `require` on purpose: its
 * type declarations start with `/// <reference lib="dom" />`, which would retype every `Uint8Array`,
 * `Blob` and stream in the whole program; the few DOM members the tests read are described here.
 */
export interface XmlElement {
  readonly localName: string | null;
  readonly namespaceURI: string | null;
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  getElementsByTagNameNS(ns: string, localName: string): ArrayLike<XmlElement>;
}
export interface XmlDocument {
  readonly documentElement: XmlElement | null;
  getElementsByTagNameNS(ns: string, localName: string): ArrayLike<XmlElement>;
}
interface ParserOptions {
  errorHandler: { error: (msg: unknown) => void; fatalError: (msg: unknown) => void };
}

const { DOMParser } = createRequire(import.meta.url)('@xmldom/xmldom') as {
  DOMParser: new (options: ParserOptions) => { parseFromString(xml: string, type: string): XmlDocument };
};

/** Parses `xml`, returning the document and every error and fatal error the parser reported. */
export function parseXml(xml: string): { doc: XmlDocument; errors: string[] } {
  const errors: string[] = [];
  const push = (msg: unknown) => errors.push(String(msg));
  const doc = new DOMParser({ errorHandler: { error: push, fatalError: push } }).parseFromString(
    xml,
    'application/xml',
  );
  return { doc, errors };
}
