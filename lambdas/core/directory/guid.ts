// Active Directory's objectGUID is 16 raw bytes. Windows, AD tools and Auth0's own AD connector
// show it as the standard GUID string, whose first three groups are the bytes in little-endian
// order: bytes f4 12 09 f7 0f 37 3e 47 8e f3 ... read as "f70912f4-370f-473e-8ef3-...".

/** The standard string form of a 16-byte Windows GUID, lower case. Throws for any other length. */
export function formatWindowsGuid(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new Error(`a GUID has 16 bytes, this value has ${bytes.length}`);
  const hex = (indexes: number[]) =>
    indexes.map((index) => (bytes[index] as number).toString(16).padStart(2, '0')).join('');
  return [hex([3, 2, 1, 0]), hex([5, 4]), hex([7, 6]), hex([8, 9]), hex([10, 11, 12, 13, 14, 15])].join('-');
}
