/**
 * Answers that are JSON text: every JSON answer of the API (res.json), and cached values sent on as
 * stored, compressed here when large and the client accepts it.
 */
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { Response } from "express";
import Negotiator from "negotiator";

/**
 * Answers from 1 KB are compressed (the `compression` middleware's threshold), never a HEAD answer (its
 * Content-Length stays the body's). gzip is preferred to brotli when the client accepts both equally:
 * on a cached 3.8 KB page it cost 135 µs of app CPU per request against 490–630 for brotli at quality
 * 4 (the middleware's setting), for 914 against 886 bytes (docs/performance.md, eleventh round).
 */
export const compressionThresholdBytes = 1024;
const encodings = ["gzip", "br", "identity"];
const preferredEncodings = ["gzip", "br"];

/** The encoding to send `bytes` of JSON in: the client's choice among gzip, brotli and none. */
function chosenEncoding(response: Response, bytes: number): "br" | "gzip" | undefined {
  const request = response.req;
  if (bytes < compressionThresholdBytes || request.method === "HEAD") return undefined;
  if (!request.headers["accept-encoding"]) return undefined;
  const encoding = new Negotiator(request).encoding(encodings, preferredEncodings);
  return encoding === "br" || encoding === "gzip" ? encoding : undefined;
}

/**
 * In one synchronous zlib call, with a window no larger than the body (zlib and brotli allocate theirs
 * whole, per call). The asynchronous call the middleware made (a zlib stream and the thread pool per
 * answer) cost 250–600 µs of CPU for 4.5 KB, 50–85 of them on the event loop; the synchronous one
 * 30–60 µs for 4–16 KB and 160 µs for 64 KB (docs/performance.md, eleventh round).
 */
function compressed(encoding: "br" | "gzip", json: string, bytes: number): Buffer {
  const windowBits = Math.ceil(Math.log2(bytes));
  if (encoding === "gzip")
    return gzipSync(json, { windowBits: Math.min(windowBits, constants.Z_MAX_WINDOWBITS) });
  return brotliCompressSync(json, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 4,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes,
      [constants.BROTLI_PARAM_LGWIN]: Math.min(windowBits, constants.BROTLI_MAX_WINDOW_BITS),
    },
  });
}

/**
 * The JSON text as the answer. Uncompressed, in one string write: Express 5's res.send turns a body of
 * 1,000 characters or more into a Buffer, which Node then writes after the headers as a second piece
 * (`writev`); as one string the headers and the body leave in one `write` (46 → 35 µs per 3.2 KB
 * answer in an Express server, docs/performance.md). Compressed, in one zlib call instead of the
 * `compression` middleware, whose wrapping of every answer, small ones included, was about 5 µs of a
 * cached read's 70 (docs/performance.md, eleventh round). Node sends no body to a HEAD request.
 */
export function sendJsonText(response: Response, json: string): void {
  if (!response.hasHeader("Content-Type"))
    response.setHeader("Content-Type", "application/json; charset=utf-8");
  const bytes = Buffer.byteLength(json);
  // From the threshold on, the answer depends on Accept-Encoding whether or not this one is compressed;
  // below it, it never does.
  if (bytes >= compressionThresholdBytes) response.vary("Accept-Encoding");
  const encoding = chosenEncoding(response, bytes);
  if (!encoding) {
    response.setHeader("Content-Length", bytes);
    response.end(json);
    return;
  }
  const body = compressed(encoding, json, bytes);
  response.setHeader("Content-Encoding", encoding);
  response.setHeader("Content-Length", body.length);
  response.end(body);
}
