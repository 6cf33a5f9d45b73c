// Reads the parts of a distinguished name the profile needs (RFC 4514), without trusting it to
// be simple: values may contain escaped commas, plus signs, quotes and hex pairs.

/** The value of the first attribute of the first RDN: `cn=Sales\, EMEA,ou=groups` -> `Sales, EMEA`. */
export function firstRdnValue(dn: string): string | undefined {
  const equals = dn.indexOf('=');
  if (equals < 1) return undefined;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let index = equals + 1; index < dn.length; index += 1) {
    const char = dn[index] as string;
    if (char === ',' || char === '+' || char === ';') break;
    if (char === '\\') {
      const hex = dn.slice(index + 1, index + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(Number.parseInt(hex, 16));
        index += 2;
      } else if (index + 1 < dn.length) {
        bytes.push(...encoder.encode(dn[index + 1] as string));
        index += 1;
      }
      continue;
    }
    // Keep astral characters (surrogate pairs) whole.
    const codePoint = dn.codePointAt(index) as number;
    const whole = String.fromCodePoint(codePoint);
    bytes.push(...encoder.encode(whole));
    index += whole.length - 1;
  }
  const value = new TextDecoder().decode(new Uint8Array(bytes)).trim();
  return value === '' ? undefined : value;
}
