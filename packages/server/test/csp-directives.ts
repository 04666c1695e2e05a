/** A Content-Security-Policy header as directive name → its values, for assertions on one directive at a time. */
export function cspDirectives(header: string | null | undefined): Map<string, string[]> {
  return new Map(
    (header ?? '')
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .map(([name = '', ...values]) => [name, values]),
  );
}
