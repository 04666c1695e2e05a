/** Parses an RFC 8288 `Link` header into rel → target. Only what the API sends is needed: `<url>; rel="next"`. */
export function parseLinkHeader(header: string | null | undefined): Map<string, string> {
  const links = new Map<string, string>();
  if (!header) return links;
  // Split on commas that start a new `<...>` link value, not commas inside a URL.
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!match) continue;
    const [, target, params] = match as unknown as [string, string, string];
    for (const param of params.split(';')) {
      const kv = /^\s*rel\s*=\s*(?:"([^"]*)"|([^\s";]+))\s*$/i.exec(param);
      if (!kv) continue;
      for (const rel of (kv[1] ?? kv[2] ?? '').split(/\s+/)) {
        if (rel && !links.has(rel.toLowerCase())) links.set(rel.toLowerCase(), target);
      }
    }
  }
  return links;
}

/** The `cursor` query parameter of the `rel="next"` link, or null on the last page. */
export function nextCursorFromLink(header: string | null | undefined): string | null {
  const next = parseLinkHeader(header).get('next');
  if (!next) return null;
  const url = new URL(next, 'http://placeholder.invalid');
  return url.searchParams.get('cursor');
}
