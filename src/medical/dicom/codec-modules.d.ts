// Types for the codec packages' Emscripten factories and the JPEG lossless decoder (the packages
// ship none for these entry points). Only what codecs.ts calls.

interface EmscriptenCodecDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean };
  delete(): void;
}
type EmscriptenCodecFactory<K extends string> = (args?: { locateFile?: (file: string) => string; print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<Record<K, new () => EmscriptenCodecDecoder>>;

declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: EmscriptenCodecFactory<'JpegLSDecoder'>;
  export default factory;
}
declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: EmscriptenCodecFactory<'J2KDecoder'>;
  export default factory;
}
declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: EmscriptenCodecFactory<'JPEGDecoder'>;
  export default factory;
}
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    numComp: number;
    precision: number;
    decode(buffer: ArrayBuffer, offset: number, length: number, numBytes?: number): Uint8Array | Uint16Array;
  }
}
