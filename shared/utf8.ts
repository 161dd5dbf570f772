/**
 * UTF-8 text <-> bytes for shared/. TextEncoder and TextDecoder are WHATWG Encoding Standard
 * globals that every runtime Burrow runs on provides (Node, browsers, Electron's renderer), but
 * they are not part of the ECMAScript library, and shared/ compiles with no Node or DOM types
 * (shared/tsconfig.json). So the two are typed here, narrowly, once, instead of pulling in a
 * runtime's type library.
 */

interface Utf8Encoder {
  /** The UTF-8 bytes of `input` (lone surrogates become U+FFFD), in a fresh buffer. */
  encode(input: string): Uint8Array<ArrayBuffer>;
}

interface Utf8Decoder {
  /** The text of `input`; throws a TypeError on malformed UTF-8. */
  decode(input: Uint8Array): string;
}

interface EncodingGlobals {
  TextEncoder: new () => Utf8Encoder;
  TextDecoder: new (label: 'utf-8', options: { fatal: boolean; ignoreBOM: boolean }) => Utf8Decoder;
}

const encoding = globalThis as unknown as EncodingGlobals;

export const utf8Encoder: Utf8Encoder = new encoding.TextEncoder();

/** Strict: malformed input throws instead of turning into U+FFFD, and a leading BOM is kept as text. */
export const utf8Decoder: Utf8Decoder = new encoding.TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
